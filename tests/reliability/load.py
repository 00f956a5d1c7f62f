"""Many conducts at once: success share, wall time against one conduct alone, and cross-talk.

Each conduct gets its own copy of the fixture experiment (own name, so own instance, and own
namespace); they share one cluster and one lab state directory, as parallel CI jobs of one user
would. Two ways to run N at once are measured: N `lab conduct` processes, and one process with
`--parallel` (at most 16 workers). Cross-talk is looked for in what each conduct reports having
applied and deleted (its events file), in the ledger (every run touched only its own experiment's
objects) and in what is left (nothing).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.harness import Stack, conduct_args, finish, lab_env, start_lab

MAX_PARALLEL = 16  # `lab conduct --parallel` allows 1..16


@dataclass
class LoadResult:
    mode: str  # "processes" | "parallel flag"
    conducts: int
    passed: int
    alone_seconds: float
    together_seconds: float
    cross_talk: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    duplicates: int = 0
    failures: list[str] = field(default_factory=list)
    alone_steps: dict[str, float] = field(default_factory=dict)  # where the lone conduct's time went

    @property
    def share(self) -> float:
        return self.passed / self.conducts if self.conducts else 0.0

    @property
    def ratio(self) -> float:
        return self.together_seconds / self.alone_seconds if self.alone_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "conducts": self.conducts, "passed": self.passed, "share": self.share,
            "alone": round(self.alone_seconds, 2), "together": round(self.together_seconds, 2),
            "ratio": round(self.ratio, 2), "crossTalk": self.cross_talk, "left": self.left,
            "duplicates": self.duplicates, "failures": self.failures, "aloneSteps": self.alone_steps,
        }


def _run_processes(stack: Stack, names: list[str], state: Path, events_dir: Path) -> tuple[float, list[Any]]:
    started = time.monotonic()
    procs = []
    for name in names:
        args = conduct_args(stack, name, "--events", str(events_dir / f"{name}.jsonl"))
        procs.append((args, start_lab(args, env=lab_env(state))))
    runs = [finish(proc, args, timeout=600) for args, proc in procs]
    return time.monotonic() - started, runs


def _reports(runs: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for run in runs:
        try:
            data = run.json()
        except ValueError:
            data = {"verdict": f"no report (exit {run.exit_code})", "experiment": "?", "stderr": run.stderr[-300:]}
        out.extend(data if isinstance(data, list) else [data])
    return out


def load_trial(stack: Stack, names: list[str], workdir: Path, *, mode: str = "processes") -> LoadResult:
    """One conduct of `names[0]` alone (the baseline), then all of `names` at once."""
    state = workdir / "lab"
    events_dir = workdir / "events"
    (events_dir / "alone").mkdir(parents=True, exist_ok=True)
    alone, alone_runs = _run_processes(stack, names[:1], state, events_dir / "alone")
    stack.added.clear()  # the baseline conducted names[0] once already: count creates from here
    if stack.proxy is not None:
        stack.proxy.log.clear()
    if mode == "processes":
        together, runs = _run_processes(stack, names, state, events_dir)
    else:
        args = [*conduct_args(stack, names[0]), *names[1:], "--parallel", str(min(MAX_PARALLEL, len(names)))]
        started = time.monotonic()
        runs = [finish(start_lab(args, env=lab_env(state)), args, timeout=600)]
        together = time.monotonic() - started
    reports = _reports(runs)
    passed = sum(1 for r in reports if r.get("verdict") == "passed")
    failures = [f"{r.get('experiment')}: {r.get('verdict')} {r.get('error') or r.get('stderr') or ''}"[:300]
                for r in reports if r.get("verdict") != "passed"]
    failures += [f"alone: exit {r.exit_code}" for r in alone_runs if r.exit_code != 0]
    crashed = [r for r in [*alone_runs, *runs] if r.crashed]
    failures += [f"crashed: {r.stderr[-300:]}" for r in crashed]
    result = LoadResult(mode, len(names), passed, alone, together, failures=failures)
    for report in _reports(alone_runs):
        result.alone_steps = {s["name"]: s["durationSeconds"] for s in report.get("steps", [])}
    if mode == "processes":
        result.cross_talk = cross_talk_in_events(events_dir, names)
    result.cross_talk += cross_talk_in_ledger(state / "state", names)
    result.left = stack.lab_objects()
    result.duplicates = stack.duplicates()
    return result


def _ref_owner(ref: dict[str, Any]) -> str:
    """The fixture experiment an object belongs to: its namespace, or its name for a Namespace."""
    return str(ref.get("name") if ref.get("kind") == "Namespace" else ref.get("namespace"))


def cross_talk_in_events(events_dir: Path, names: list[str]) -> list[str]:
    problems = []
    for name in names:
        path = events_dir / f"{name}.jsonl"
        if not path.exists():
            problems.append(f"{name}: no events file")
            continue
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event.get("experiment") != name:
                problems.append(f"{name}: event of {event.get('experiment')} in its stream")
            ref = event.get("ref")
            if event.get("event") in ("object.applied", "object.deleted") and ref and _ref_owner(ref) != name:
                problems.append(f"{name}: {event['event']} {ref.get('kind')} {ref.get('namespace')}/{ref.get('name')}")
    return problems


def cross_talk_in_ledger(state_dir: Path, names: list[str]) -> list[str]:
    from illm_lab.ledger import Ledger

    problems = []
    for run in Ledger(state_dir).runs():
        if run.experiment not in names or run.instance != run.experiment:
            problems.append(f"run {run.id}: experiment {run.experiment}, instance {run.instance}")
        for obj in run.objects:
            if _ref_owner(obj) != run.experiment:
                problems.append(f"run {run.id} of {run.experiment} touched {obj.get('kind')} "
                                f"{obj.get('namespace')}/{obj.get('name')}")
    return problems
