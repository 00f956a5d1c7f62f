"""One experiment, end to end: render at defaults, lint, apply where it can be judged, one row.

Every step is caught and turned into a one-line reason, so one broken experiment never stops
the others and the table always has 30 rows.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illm_lab.authoring import lint
from illm_lab.base.errors import LabError
from illm_lab.catalog import Entry, params
from illm_lab.charts import ChartCache, ChartRef, render_charts
from illm_lab.engine.inventory import instance_id
from illm_lab.ledger import Ledger
from illm_lab.rendering import render
from illm_lab.rendering.render import RenderedComponent, Rendering

# What `lab lint` checks against (lint.DEFAULT_KUBE_VERSION, "1.31") as a full version for helm.
TARGET_KUBE_VERSION = f"{lint.DEFAULT_KUBE_VERSION}.0"
INSTANCE_SUFFIX = "verify"  # objects carry `<experiment>-verify`, never a user's own instance


@dataclass
class ApplyResult:
    """Where the experiment was applied and what came of it."""

    tier: str  # "tier 3" (server-side dry run) | "emulator" (tier 2, applied for real)
    why: str = ""  # why this tier: for the emulator, what kept the experiment off tier 3
    why_code: str = ""  # the same in a word, for the table: "kubeVersion", "API", "CRD+CR", ...
    total: int = 0  # objects sent
    applied: int = 0  # accepted by the server (dry run) or created/configured/unchanged
    failures: list[str] = field(default_factory=list)
    # Tier 3 only: objects the old server refused for fields it does not know, while they are
    # valid for the target version (lint's schemas) — the server is too old, not the object wrong.
    unknown_fields: list[str] = field(default_factory=list)
    removed: bool = False
    removal: str = ""  # "all removed", or what is left / what failed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and self.removed


@dataclass
class Row:
    name: str
    charts: list[str] = field(default_factory=list)
    rendered: bool = False
    render_error: str | None = None
    objects: int = 0
    lint_errors: int = 0
    lint_warnings: int = 0
    lint_notes: int = 0
    lint_first_error: str | None = None
    apply: ApplyResult | None = None
    conducted: str = "not yet"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.rendered and self.lint_errors == 0 and self.apply is not None and self.apply.ok

    def problems(self) -> list[str]:
        """Why the row is not ok, one short reason per failed step."""
        out: list[str] = []
        if not self.rendered:
            out.append(f"render failed: {self.render_error}")
        if self.lint_errors:
            out.append(f"lint: {self.lint_errors} errors (first: {self.lint_first_error})")
        if self.apply is None:
            if self.rendered:
                out.append("not applied")
        else:
            if self.apply.failures:
                more = f" (and {len(self.apply.failures) - 1} more)" if len(self.apply.failures) > 1 else ""
                out.append(f"apply ({self.apply.tier}): {self.apply.failures[0]}{more}")
            if not self.apply.removed:
                out.append(f"removal ({self.apply.tier}): {self.apply.removal}")
        return out


def one_line(exc: BaseException | str, limit: int = 300) -> str:
    """The first line of an error, without the noise of a traceback, short enough for a table."""
    text = str(exc).strip() or type(exc).__name__
    line = text.splitlines()[0].strip()
    if not isinstance(exc, str | LabError):
        line = f"{type(exc).__name__}: {line}"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def all_objects(rendering: Rendering) -> list[dict[str, Any]]:
    """Every object a conduct applies: Namespaces, components (hooks once each), the load
    workflow and the tutorial solutions — what `lab lint` counts too."""
    comps = [*rendering.components, *([rendering.workflow] if rendering.workflow else []),
             *rendering.solutions.values()]
    out = [o for nss in rendering.namespaces.values() for o in nss]
    for comp in comps:
        out += component_objects(comp)
    return out


def component_objects(comp: RenderedComponent) -> list[dict[str, Any]]:
    """Main and hook objects, each once: what lint counts (`authoring.targets.objects_of`)."""
    from illm_lab.authoring.targets import objects_of

    return objects_of(comp)


def chart_labels(entry: Entry, cache: ChartCache) -> list[str]:
    """`name@version sha256-prefix` of each pinned chart as the cache holds it (one per chart)."""
    out: list[str] = []
    for comp in entry.experiment.spec.components:
        if comp.helm is None:
            continue
        ref = ChartRef.of(comp.helm)
        if ref is None:
            label = f"{comp.helm.path} (local)"
        else:
            cached = cache.lookup(ref)
            digest = cached.short_digest if cached is not None else "not cached"
            label = f"{ref.chart}@{ref.version} {digest}"
        if label not in out:
            out.append(label)
    return out


def conducted(folder: Path) -> str:
    """Whether a committed validation record says the experiment was conducted for real, where,
    and whether that record is stale (written for other versions of the experiment's files)."""
    from illm_lab.base.yamlio import load_all, read_text
    from illm_lab.catalog.fingerprint import experiment_hash
    from illm_lab.model.record import RECORD_FILE, ValidationRecord

    path = folder / RECORD_FILE
    if not path.exists():
        return "not yet"
    try:
        docs = load_all(read_text(path, what="validation record"), source=str(path))
        records = [ValidationRecord.model_validate(d.data) for d in docs]
    except Exception as exc:
        return f"record unreadable: {one_line(exc, 120)}"
    if not records:
        return "not yet (empty record)"
    latest = max(records, key=lambda r: r.date.timestamp())
    passed = latest.passed and all(c.passed for c in latest.checks)
    places: dict[str, list[str]] = {}
    for c in latest.clusters:
        context = getattr(c, "context", None)
        place = f"{c.provider}{f' cluster {context}' if context else ''}, Kubernetes {c.kubernetes_version}"
        places.setdefault(place, []).append(c.role)
    where = "; ".join(f"{place} ({', '.join(roles)})" if len(places) > 1 else place
                      for place, roles in places.items()) or "cluster not recorded"
    verdict = "passed" if passed else "failed"
    if passed and not latest.checks:
        verdict = "passed without a single check"
    current = latest.experiment_hash == experiment_hash(folder)
    stale = "" if current else " (stale: the experiment changed since)"
    return f"{verdict} {latest.date.date().isoformat()} on {where}{stale}"


def render_at_defaults(entry: Entry, cache: ChartCache, kube_version: str = TARGET_KUBE_VERSION
                       ) -> tuple[dict[str, Any], Rendering]:
    """The experiment at its defaults, charts rendered from the cache (never pulled)."""
    resolved = params.resolve(entry.experiment)
    rendering = render.render(entry, resolved)
    render_charts(rendering, kube_version=kube_version, offline=True, cache=cache)
    return resolved, rendering


def verify(
    entry: Entry,
    *,
    ledger: Ledger,
    cache: ChartCache | None = None,
    server: Any = None,
    workdir: Path,
    kube_version: str = TARGET_KUBE_VERSION,
) -> Row:
    """Render, lint and apply one experiment; `server` (a `tier3.Server`) enables tier 3."""
    from verifycatalog import emulated, tier3

    started = time.monotonic()
    cache = cache if cache is not None else ChartCache()
    row = Row(entry.name, charts=chart_labels(entry, cache))
    rendering: Rendering | None = None
    resolved: dict[str, Any] = {}
    try:
        resolved, rendering = render_at_defaults(entry, cache, kube_version)
        row.rendered, row.objects = True, len(all_objects(rendering))
    except Exception as exc:
        row.render_error = one_line(exc)
    try:
        found = lint.lint_folder(entry.folder).findings
        errors = [f for f in found if f.severity == "error"]
        row.lint_errors, row.lint_first_error = len(errors), (one_line(str(errors[0])) if errors else None)
        row.lint_warnings = sum(1 for f in found if f.severity == "warning")
        row.lint_notes = sum(1 for f in found if f.severity == "note")
    except Exception as exc:
        row.lint_errors, row.lint_first_error = 1, f"lint crashed: {one_line(exc)}"
    if rendering is not None:
        instance = instance_id(entry.name, INSTANCE_SUFFIX)
        code, why = "no tier 3", "no --kubeconfig given: tier 3 not used"
        if server is not None:
            try:
                judged, code, why = tier3.admit(entry, resolved, server, cache)
            except Exception as exc:
                judged, code, why = None, "error", f"tier 3 could not judge it: {one_line(exc)}"
            if judged is not None:
                try:
                    dry = tier3.dry_run(entry, judged, server, ledger=ledger, instance=instance)
                except Exception as exc:  # a bug here must not hide the other experiments
                    dry = ApplyResult("tier 3", failures=[f"verify: {one_line(exc)}"],
                                      removal="not checked: the dry run stopped")
                if dry.unknown_fields and not dry.failures and dry.removed:
                    code = "fields"
                    objects = "object" if len(dry.unknown_fields) == 1 else "objects"
                    why = (f"{server.git_version} refused {len(dry.unknown_fields)} {objects} only for "
                           f"fields it does not know and Kubernetes {kube_version} has: "
                           f"{dry.unknown_fields[0]}")
                else:
                    dry.failures += dry.unknown_fields
                    row.apply = dry
        if row.apply is None:
            row.apply = emulated.apply_and_remove(
                entry, copy.deepcopy(rendering), ledger=ledger, instance=instance,
                workdir=workdir / entry.name,
            )
            row.apply.why, row.apply.why_code = why, code
    row.conducted = conducted(entry.folder)
    row.seconds = time.monotonic() - started
    return row
