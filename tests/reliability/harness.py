"""What the reliability suites share: a tier-2 stack (API emulator, demo backend, fault proxy),
running `lab` in-process or as a subprocess, and the invariants every trial is judged by.

A trial is judged from the outside, the way a user would find things afterwards:

* **crash** — a traceback or an "internal error" line, or an exception escaping the CLI;
* **clear** — the run ended with exit 0 and a passed verdict, or with exit 1/3 and one
  `lab: error:` line (or a report saying which check failed);
* **ledger consistent** — every run file parses and says how it ended (none left `running` by a
  process that was not killed), and every live object carrying the instance label is named by
  `Ledger.outstanding()`, so `lab down` can find it;
* **orphans** — objects still carrying lab's labels after the trial *and* a fault-free `lab down`
  (goal 0): what lab would leave behind for ever;
* **duplicates** — objects created more than once within one trial (ADDED twice for the same
  identity; goal 0), e.g. a retried create that was not idempotent.

The functions here take the emulator, proxy and paths as arguments so that both the pytest
suites and `bench/reliability.py` (which writes docs/reliability.md) use exactly the same code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.fixture import write_relia
from tests.support.demoapp import demo_app
from tests.support.emulator import LabEmulator
from tests.support.faultproxy import FaultProxy

INSTANCE_LABEL = "lab.illm.io/instance"
ERROR_PREFIX = "lab: error: "


# ---------------------------------------------------------------- running lab


@dataclass
class LabRun:
    """One `lab` invocation: exit code and what it printed."""

    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    exception: str | None = None  # an exception that escaped the CLI (in-process runs)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def crashed(self) -> bool:
        return (
            self.exception is not None
            or "Traceback (most recent call last)" in self.output
            or "internal error:" in self.stderr
        )

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith(ERROR_PREFIX)]

    def json(self) -> Any:
        return json.loads(self.stdout)


def lab_env(state: Path) -> dict[str, str]:
    """Environment of one isolated lab: its own state, cache and (absent) config."""
    return {
        "LAB_STATE_DIR": str(state / "state"),
        "LAB_CACHE_DIR": str(state / "cache"),
        "LAB_CONFIG": str(state / "config.yaml"),
        "NO_COLOR": "1",
    }


def run_lab(args: Sequence[str], *, env: Mapping[str, str] | None = None) -> LabRun:
    """`lab ARGS` in this process (typer's CliRunner); stdout and stderr kept apart."""
    from typer.testing import CliRunner

    from illm_lab.cli.main import app

    result = CliRunner().invoke(app, list(args), env=dict(env or {}))
    exception = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exception = f"{type(result.exception).__name__}: {result.exception}"
    return LabRun(list(args), result.exit_code, result.stdout, result.stderr, exception)


def lab_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "illm_lab", *args]


def start_lab(args: Sequence[str], *, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """`lab ARGS` as a real process (signals, parallel runs)."""
    return subprocess.Popen(
        lab_argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )


def finish(proc: subprocess.Popen[str], args: Sequence[str], timeout: float = 120) -> LabRun:
    out, err = proc.communicate(timeout=timeout)
    return LabRun(list(args), proc.returncode, out, err)


# ---------------------------------------------------------------- the tier-2 stack


@dataclass
class Stack:
    """What a trial runs against: a catalog of fixture experiments, a cluster (`kubeconfig`), and
    optionally a fault proxy in front of it (then `kubeconfig` is the proxy's). Tier 2 uses the
    API emulator (`emulator`), tier 3 a real cluster (`real`: its kubeconfig and context)."""

    catalog: Path
    emulator: LabEmulator | None = None
    real: tuple[Path, str] | None = None
    proxy: FaultProxy | None = None
    added: Counter[str] = field(default_factory=Counter)
    tier: int = 2
    params: tuple[str, ...] = ()  # extra `--set` flags (tier 3: the local images)

    @property
    def kubeconfig(self) -> Path:
        if self.proxy is not None:
            assert self.proxy.kubeconfig is not None
            return self.proxy.kubeconfig
        if self.real is not None:
            return self.real[0]
        assert self.emulator is not None and self.emulator.kubeconfig is not None
        return self.emulator.kubeconfig

    def lab_objects(self, instance: str | None = None) -> list[str]:
        if self.emulator is not None:
            return lab_objects(self.emulator, instance)
        assert self.real is not None
        return cluster_lab_objects(self.real[0], self.real[1], instance)

    def duplicates(self) -> int:
        """Objects created twice: ADDED events seen by the emulator, else 201 answers to applies
        seen by the proxy (an apply that creates answers 201)."""
        if self.emulator is not None:
            return sum(n - 1 for n in self.added.values() if n > 1)
        if self.proxy is None:
            return 0
        created = Counter(r.target.split("?")[0] for r in self.proxy.log if r.method == "PATCH" and r.status == 201)
        return sum(n - 1 for n in created.values() if n > 1)


@dataclass(frozen=True)
class RealTarget:
    """A real cluster to run trials on (tier 3, or tier 4): where, and the params that make the
    fixture use its images (`--set image=...`)."""

    kubeconfig: Path
    context: str
    params: tuple[str, ...] = ()
    workdir: Path | None = None  # of the local cluster (tier 3): its components can be stopped

    @classmethod
    def of(cls, cluster: Any) -> RealTarget:
        """From the `real_cluster` fixture's RealCluster."""
        image = cluster.images["app"]
        local = cluster.kind == "local" and cluster.extra.get("workdir")
        return cls(Path(cluster.kubeconfig), str(cluster.context),
                   (f"image={image}", f"pullPolicy={cluster.pull_policy}"),
                   Path(cluster.extra["workdir"]) if local else None)


LAB_KINDS = [("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("apps/v1", "Deployment"),
             ("apps/v1", "ReplicaSet"), ("v1", "Service"), ("batch/v1", "Job"), ("v1", "Pod")]


def cluster_lab_objects(kubeconfig: Path, context: str, instance: str | None = None) -> list[str]:
    """Objects of the kinds lab's fixtures create that carry lab's instance label, on a real
    cluster (Namespaces already Terminating count as gone: their deletion is under way)."""
    from illm_lab import kube

    selector = f"{INSTANCE_LABEL}={instance}" if instance else INSTANCE_LABEL
    found = []
    with kube.connect(kubeconfig, context) as cluster:
        for api_version, kind in LAB_KINDS:
            for obj in cluster.list(api_version, kind, None, selector):
                if kind == "Namespace" and (obj.get("status") or {}).get("phase") == "Terminating":
                    continue
                found.append(_ident(obj))
    return sorted(found)


@contextlib.contextmanager
def tier2(
    workdir: Path,
    names: Sequence[str] = ("relia",),
    *,
    proxy_seed: int | None = None,
    ready_after: float = 0.02,
) -> Iterator[Stack]:
    """Emulator + demo backend (+ fault proxy when `proxy_seed` is given) and a catalog holding
    one fixture experiment per name (namespace = name)."""
    catalog = workdir / "experiments"
    for name in names:
        write_relia(catalog, name)
    emulator = LabEmulator().start(workdir / "emulator")
    quiet = _quiet_servers()
    try:
        emulator.auto_ready(["Deployment", "Job"], after=ready_after)
        with demo_app() as url:
            for name in names:
                emulator.register_backend(name, "web", 9898, url)
            stack = Stack(catalog, emulator=emulator)
            _count_creates(stack)
            if proxy_seed is None:
                yield stack
                return
            with FaultProxy(emulator.kubeconfig, workdir=workdir / "proxy", seed=proxy_seed) as proxy:
                stack.proxy = proxy
                yield stack
    finally:
        emulator.stop()
        quiet.close()
    if emulator.internal_errors:
        raise AssertionError("the emulator hit internal errors:\n" + "\n".join(emulator.internal_errors))


class _ServerLogs(logging.Handler):
    """Keeps what the in-process test servers log (a fault proxy writing to a client that went
    away logs a traceback) off stderr, where in-process `lab` runs would count it as a crash."""

    SERVER_LOGGERS = ("aiohttp", "asyncio")

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self._saved: list[tuple[logging.Logger, bool]] = []
        for name in self.SERVER_LOGGERS:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.propagate))
            logger.addHandler(self)
            logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def close(self) -> None:
        for logger, propagate in self._saved:
            logger.removeHandler(self)
            logger.propagate = propagate
        super().close()


def _quiet_servers() -> _ServerLogs:
    return _ServerLogs()


@contextlib.contextmanager
def tier3(
    workdir: Path, kubeconfig: Path, context: str, names: Sequence[str], params: Sequence[str],
    *, proxy_seed: int | None = None, timeout: str = "120s",
) -> Iterator[Stack]:
    """A real cluster (tier 3 or 4), optionally behind a fault proxy; `names` must be unique to
    the test (the cluster is shared by the session); `timeout`: the app component's."""
    catalog = workdir / "experiments"
    for name in names:
        write_relia(catalog, name, timeout=timeout)
    stack = Stack(catalog, real=(kubeconfig, context), tier=3, params=tuple(params))
    quiet = _quiet_servers()
    try:
        if proxy_seed is None:
            yield stack
            return
        with FaultProxy(kubeconfig, context=context, workdir=workdir / "proxy", seed=proxy_seed) as proxy:
            stack.proxy = proxy
            yield stack
    finally:
        quiet.close()


def _count_creates(stack: Stack) -> None:
    emulator = stack.emulator
    assert emulator is not None
    lock = threading.Lock()

    def listener(event: Any) -> None:
        meta = event.obj.get("metadata") or {}
        if event.type == "ADDED" and INSTANCE_LABEL in (meta.get("labels") or {}):
            with lock:
                stack.added[_ident(event.obj)] += 1

    emulator._call(emulator.store.listeners.append, listener)


def _ident(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')}/{ns}{meta.get('name')}"


def lab_objects(emulator: LabEmulator, instance: str | None = None) -> list[str]:
    """Every live object, of any kind, carrying lab's instance label (of `instance`, if given)."""

    def scan() -> list[str]:
        found = []
        for rt in emulator.store.types():
            for obj in emulator.store.iter_live(rt):
                labels = (obj.get("metadata") or {}).get("labels") or {}
                if INSTANCE_LABEL in labels and instance in (None, labels[INSTANCE_LABEL]):
                    found.append(_ident({**obj, "kind": rt.kind}))
        return sorted(found)

    return emulator._call(scan)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the ledger


def ledger_problems(state_dir: Path, instance: str, live: Sequence[str], *, killed: bool = False) -> list[str]:
    """What makes the ledger inconsistent with the cluster (empty: consistent).

    `live` are `lab_objects()` of the instance. Every run must have ended (`killed`: a run
    SIGKILLed may stay `running`, that is what the ledger is for) and every live object of the
    instance must be among the outstanding objects, so `lab down` finds it.
    """
    from illm_lab.base.errors import LabError
    from illm_lab.ledger import Ledger

    ledger = Ledger(state_dir)
    problems = []
    try:
        runs = ledger.runs(instance=instance)
        outstanding = ledger.outstanding(instance)
    except LabError as exc:
        return [f"ledger unreadable: {exc}"]
    for run in runs:
        if run.state == "running" and not killed:
            problems.append(f"run {run.id} ({run.data.get('command')}) never finished")
    known = set()
    for entry in outstanding.values():
        for ref in entry.refs:
            ns = f"{ref.namespace}/" if ref.namespace else ""
            known.add(f"{ref.kind}/{ns}{ref.name}")
    problems += [f"{obj} is live but not in the ledger" for obj in live if obj not in known]
    return problems


# ---------------------------------------------------------------- one trial


@dataclass
class Trial:
    """The outcome of one conduct under faults or interrupts."""

    name: str
    seed: int
    exit_code: int
    verdict: str | None
    crashed: bool
    clear: bool
    ledger: list[str]
    left: list[str]  # lab objects right after the conduct
    orphans: list[str]  # lab objects after a fault-free `lab down`
    duplicates: int
    faults: int = 0
    detail: str = ""
    tears_down: bool = True  # a passing run removes what it deployed (conduct; not apply)

    @property
    def correct(self) -> bool:
        """Passed, or failed with a clear error and a consistent ledger; never left anything
        behind that `lab down` cannot remove."""
        if self.crashed or not self.clear or self.ledger or self.orphans:
            return False
        return not (self.tears_down and self.exit_code == 0 and self.left)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "seed": self.seed, "exit": self.exit_code, "verdict": self.verdict,
            "correct": self.correct, "crashed": self.crashed, "clear": self.clear,
            "ledger": self.ledger, "left": self.left, "orphans": self.orphans,
            "duplicates": self.duplicates, "faults": self.faults, "detail": self.detail,
        }


def clear_outcome(run: LabRun) -> tuple[bool, str | None, str]:
    """(clear?, verdict, detail) of a `lab conduct -o json` run."""
    try:
        report = run.json()
    except ValueError:
        report = None
    if isinstance(report, list) and len(report) == 1:  # `-o json` is a list of reports
        report = report[0]
    verdict = report.get("verdict") if isinstance(report, dict) else None
    if run.exit_code == 0:
        return verdict == "passed", verdict, ""
    if run.exit_code in (1, 3) and isinstance(report, dict):
        if report.get("error"):
            lines = run.error_lines
            return len(lines) == 1 and len(lines[0]) < 800, verdict, lines[0] if lines else ""
        failed = [c["name"] for c in report.get("checks", []) if not c.get("passed")]
        return bool(failed), verdict, f"failed checks: {', '.join(failed)}"
    return False, verdict, f"exit {run.exit_code}: {run.stderr[-300:]}"


def down(stack: Stack, name: str, env: Mapping[str, str], cleanup: Sequence[str] | None = None) -> LabRun:
    """A fault-free `lab down` (faults cleared; the clusters as the ledger recorded them), or
    the `cleanup` command given."""
    if stack.proxy is not None:
        stack.proxy.clear_faults()
    return run_lab(list(cleanup or ["--experiments-dir", str(stack.catalog), "down", name]), env=env)


def judge(
    stack: Stack,
    run: LabRun,
    *,
    name: str,
    seed: int,
    state: Path,
    instance: str,
    killed: bool = False,
    faults: int = 0,
    outcome: tuple[bool, str | None, str] | None = None,
    cleanup: Sequence[str] | None = None,
) -> Trial:
    """Judge a finished trial of the experiment `instance` (its default instance), then clean
    up with `lab down` and count what is left. `outcome` (clear?, verdict, detail) replaces
    the judgement of a `conduct -o json` run for other commands."""
    env = lab_env(state)
    live = stack.lab_objects(instance)
    ledger = ledger_problems(state / "state", instance, live, killed=killed)
    clear, verdict, detail = outcome or clear_outcome(run)
    cleaned = down(stack, instance, env, cleanup)
    orphans = stack.lab_objects()
    if cleaned.exit_code != 0 or cleaned.crashed:
        detail += f" | cleanup exit {cleaned.exit_code}: {cleaned.stderr[-300:]}"
    return Trial(
        name=name, seed=seed, exit_code=run.exit_code, verdict=verdict,
        crashed=run.crashed or cleaned.crashed, clear=clear and cleaned.exit_code == 0,
        ledger=ledger, left=live, orphans=orphans, duplicates=stack.duplicates(),
        faults=faults, detail=detail.strip(),
    )


def conduct_args(stack: Stack, name: str, *extra: str) -> list[str]:
    sets = [arg for p in stack.params for arg in ("--set", p)]
    timeout = "10s" if stack.tier == 2 else "90s"
    context = ["--context", stack.real[1]] if stack.real is not None and stack.proxy is None else []
    return [
        "--experiments-dir", str(stack.catalog), "conduct", name, "--ci", "-o", "json",
        "--kubeconfig", str(stack.kubeconfig), *context, "--check-timeout", timeout, *sets, *extra,
    ]
