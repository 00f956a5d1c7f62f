"""`lab tutorial list | show | reset`: the catalog's tutorials and their saved progress.

Offline and fast like `lab list`: no cluster, no `kubernetes` import. `show` renders each
checkpoint's instructions with the default params and the endpoints a session would most likely
open (port-forwards on the tutorial's local ports), so an author sees what a learner will read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from illm_lab import catalog
from illm_lab.base import paths
from illm_lab.base.errors import LabError, UsageError
from illm_lab.base.yamlio import read_text
from illm_lab.catalog import params
from illm_lab.engine.inventory import instance_id
from illm_lab.model.checks import check_type
from illm_lab.rendering import render
from illm_lab.tutorial import progress as pr


def _progress_text(progress: pr.Progress | None, order: list[str]) -> str:
    if not order:
        return "no checkpoints"
    if progress is None:
        return "not started"
    passed, skipped = progress.count(pr.PASSED, order), progress.count(pr.SKIPPED, order)
    if progress.first_open(order) is None:
        return "done" + (f" ({skipped} skipped)" if skipped else "")
    running = ", session running" if progress.session_alive else ""
    return f"{passed + skipped}/{len(order)}{running}"


@dataclass(frozen=True)
class TutorialRow:
    """A tutorial as `lab tutorial list` shows it, with how far the learner got."""

    name: str
    title: str
    phase: str
    checkpoints: int
    progress: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "phase": self.phase,
                "checkpoints": self.checkpoints, "progress": self.progress}

    def order(self) -> tuple[bool, list[tuple[int, str]], str]:
        """Tutorials with checkpoints first, then in roadmap phase order (1 < 2 < 3.1 < 10 < A)."""
        parts = [(0, p.zfill(6)) if p.isdigit() else (1, p) for p in str(self.phase).split(".")]
        return (not self.checkpoints, parts, self.name)


def tutorials(experiments_dir: Path | None = None) -> tuple[list[TutorialRow], list[str]]:
    entries, problems = catalog.load_all(paths.experiments_dir(experiments_dir))
    store = pr.ProgressStore()
    out = []
    for entry in entries:
        tutorial = entry.experiment.spec.tutorial
        if tutorial is None:
            continue
        order = [cp.name for cp in tutorial.checkpoints]
        meta = entry.experiment.metadata
        out.append(TutorialRow(meta.name, meta.title, meta.phase, len(order),
                               _progress_text(store.load(instance_id(meta.name)), order)))
    return out, [str(p) for p in problems]


@dataclass(frozen=True)
class ServiceView:
    """A service the tutorial opens for the learner, and the logins read from the cluster."""

    name: str
    service: str
    path: str
    local_port: int | None
    credentials: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "service": self.service, "path": self.path,
                "localPort": self.local_port, "credentials": self.credentials}


@dataclass(frozen=True)
class CheckpointView:
    """A checkpoint as the learner reads it: instructions and hint rendered, what verifies it."""

    name: str
    title: str
    instructions: str
    hint: str | None
    checks: list[tuple[str, str]]  # (name, type)
    solution: list[Any]
    state: str | None  # the saved progress: passed | skipped | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "instructions": self.instructions,
                "hint": self.hint, "checks": [{"name": n, "type": t} for n, t in self.checks],
                "solution": self.solution, "state": self.state}


@dataclass(frozen=True)
class TutorialDetail:
    """`lab tutorial show`: everything a learner will read, in order."""

    name: str
    title: str
    instance: str
    guide: str
    guide_path: str
    introduction: str
    read: dict[str, str | None]  # guide | readme | phase -> a path to open, if there is one
    services: list[ServiceView]
    checkpoints: list[CheckpointView]
    progress: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "instance": self.instance, "guide": self.guide,
            "guidePath": self.guide_path, "introduction": self.introduction, "read": self.read,
            "services": [s.as_dict() for s in self.services],
            "checkpoints": [c.as_dict() for c in self.checkpoints], "progress": self.progress,
        }


def detail(
    experiment: str, *, instance: str | None = None, experiments_dir: Path | None = None
) -> TutorialDetail:
    entry = catalog.find(paths.experiments_dir(experiments_dir), experiment)
    tutorial = entry.experiment.spec.tutorial
    if tutorial is None:
        raise UsageError(f"{entry.name} is not a tutorial (it has no spec.tutorial)")
    resolved = params.resolve(entry.experiment)
    endpoints = {
        s.name: render.endpoint_view(s, "127.0.0.1", s.local_port or 8080, "port-forward")
        for s in tutorial.services
    }
    ctx = render.instructions_context(entry.experiment, resolved, endpoints)
    env = render.make_environment(entry.folder)
    chosen = instance_id(entry.name, instance)
    progress = pr.ProgressStore().load(chosen)
    order = [cp.name for cp in tutorial.checkpoints]
    try:
        guide = read_text(entry.folder / tutorial.guide, what="tutorial guide")
    except LabError:
        guide = ""
    readme = entry.folder / "README.md"
    steps = []
    for cp in tutorial.checkpoints:
        where = f"{entry.manifest}: checkpoint {cp.name}"
        steps.append(CheckpointView(
            cp.name, cp.title, render.render_text(env, cp.instructions, ctx, where=where),
            render.render_text(env, cp.hint, ctx, where=where) if cp.hint else None,
            [(c.name, check_type(c)) for c in cp.checks], list(cp.solution or []),
            progress.state(cp.name) if progress else None,
        ))
    return TutorialDetail(
        name=entry.name, title=entry.experiment.metadata.title, instance=chosen,
        guide=guide, guide_path=tutorial.guide, introduction=introduction(guide),
        read={
            "guide": _shown(entry.folder / tutorial.guide) if guide else None,
            "readme": _shown(readme) if readme.is_file() and readme != entry.folder / tutorial.guide
            else None,
            "phase": _phase_guide(entry.folder.parent.parent, entry.experiment.metadata.phase),
        },
        services=[ServiceView(s.name, s.service, s.path, s.local_port, sorted(s.credentials or {}))
                  for s in tutorial.services],
        checkpoints=steps,
        progress=_progress_text(progress, order),
    )


def introduction(markdown: str) -> str:
    """The guide's opening — its title and what precedes its first `##` section — which is what
    a learner reads before choosing a tutorial; the rest stays in the file `show` links."""
    kept, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _shown(path: Path) -> str:
    """A path as the learner can open it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _phase_guide(root: Path, phase: str) -> str | None:
    """The roadmap document of the experiment's phase (`roadmap/phase-03-*.md`), if the catalog
    sits in a repository that has one."""
    major = phase.split(".")[0]
    if not major.isdigit():
        return None
    found = sorted((root / "roadmap").glob(f"phase-{int(major):02d}-*.md"))
    return _shown(found[0]) if found else None


def reset(experiment: str, *, instance: str | None = None, experiments_dir: Path | None = None) -> str:
    entry = catalog.find(paths.experiments_dir(experiments_dir), experiment)
    chosen = instance_id(entry.name, instance)
    store = pr.ProgressStore()
    progress = store.load(chosen)
    if progress is not None and progress.session_alive:
        raise UsageError(f"a session of {chosen} is running (pid {(progress.session or {}).get('pid')}): "
                         "quit it first")
    removed = store.reset(chosen)
    return f"progress of {chosen} reset" if removed else f"no saved progress of {chosen}"
