"""Reliability and security figures, regenerated into docs/reliability.md.

Runs the measuring parts of the suites in tests/reliability/ with more seeds than the tests do
(the tests assert the invariants; this script counts): whole conducts under injected faults,
seeded interrupts of `lab conduct` and `lab apply`, the bad-input corpus and the fuzzers,
sandbox escapes and secret scans, and conducts in parallel. Tier 2 (the API emulator) always;
tier 3 (a real cluster) when one can be had: `--cluster-kubeconfig` (or LAB_E2E_KUBECONFIG), or
a local cluster this script starts with scripts/local-cluster (root, built, none running).

Usage: python bench/reliability.py [--smoke] [--no-write] [--doc PATH] [--json PATH]
                                   [--seeds N] [--tier3 auto|on|off]
`--smoke` runs one iteration of everything (the test suite does that, with --no-write).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.reliability import cluster_faults, corpus, faults, interrupts, load, security  # noqa: E402
from tests.reliability.fixture import copies  # noqa: E402
from tests.reliability.harness import RealTarget, Trial, tier2, tier3  # noqa: E402

DOC = REPO / "docs" / "reliability.md"
FUZZ_EXAMPLES = 200  # per property (the test suite runs 40)
SMOKE_SCHEDULES = ("resets",)  # quick; the test suite covers every schedule


@dataclass
class Plan:
    smoke: bool
    seeds: int  # seeds per scheduled fault schedule; random and interrupts get 5x (min 1)

    @property
    def scheduled_seeds(self) -> list[int]:
        return list(range(1, 2 if self.smoke else self.seeds + 1))

    @property
    def random_seeds(self) -> list[int]:
        return list(range(1, 2 if self.smoke else 5 * self.seeds + 1))

    @property
    def interrupt_seeds(self) -> list[int]:
        return list(range(0, 1 if self.smoke else 10 * self.seeds))

    @property
    def load_conducts(self) -> int:
        return 2 if self.smoke else 20


@dataclass
class Figures:
    started: str
    tier3: str  # what tier 3 was: a description, or why it was not measured
    sections: dict[str, Any] = field(default_factory=dict)
    commit: str = ""  # of the code measured


# ---------------------------------------------------------------- helpers


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lab-reliability-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def trials(label: str, seeds: list[int], run: Callable[[Path, int], Trial]) -> list[Trial]:
    out = []
    for seed in seeds:
        with workdir() as path:
            started = time.monotonic()
            trial = run(path, seed)
        progress(
            f"  {label} seed {seed}: {'ok' if trial.correct else 'NOT CORRECT'} "
            f"exit {trial.exit_code} ({time.monotonic() - started:.1f}s) {trial.detail[:120]}"
        )
        out.append(trial)
    return out


def summarise(found: list[Trial]) -> dict[str, Any]:
    return {
        "trials": len(found),
        "correct": sum(t.correct for t in found),
        "passed": sum(t.exit_code == 0 for t in found),
        "failedClearly": sum(t.exit_code != 0 and t.correct for t in found),
        "crashes": sum(t.crashed for t in found),
        "duplicates": sum(t.duplicates for t in found),
        "orphans": sum(len(t.orphans) for t in found),
        "ledgerProblems": sum(len(t.ledger) for t in found),
        "faults": sum(t.faults for t in found),
        "seeds": sorted({t.seed for t in found}),
        "incorrect": [t.as_dict() for t in found if not t.correct],
    }


# ---------------------------------------------------------------- tier 3


@contextlib.contextmanager
def real_cluster(mode: str, args: argparse.Namespace) -> Iterator[tuple[RealTarget | None, str]]:
    """(target, description) of a real cluster, or (None, why not)."""
    given = args.cluster_kubeconfig or os.environ.get("LAB_E2E_KUBECONFIG")
    if mode == "off":
        yield None, "not measured (--tier3 off)"
        return
    if given:
        context = args.cluster_context or _current_context(Path(given))
        image = args.cluster_image or "ghcr.io/stefanprodan/podinfo:6.7.1"
        yield (
            RealTarget(Path(given), context, (f"image={image}", "pullPolicy=IfNotPresent")),
            f"the cluster of {given} (context {context}; tier 4)",
        )
        return
    obstacle = _local_obstacle()
    if obstacle:
        if mode == "on":
            raise SystemExit(f"tier 3 unavailable: {obstacle}")
        yield None, f"not measured: {obstacle}"
        return
    work = Path(tempfile.mkdtemp(prefix="lab-cluster-", dir="/tmp"))
    script = [sys.executable, str(REPO / "scripts" / "local-cluster")]
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    up = subprocess.run(
        [*script, "up", "--workdir", str(work)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if up.returncode != 0:
        subprocess.run(
            [*script, "down", "--workdir", str(work)], capture_output=True, env=env, timeout=300, check=False
        )
        reason = (up.stderr.strip().splitlines() or ["`local-cluster up` failed"])[-1][:200]
        if mode == "on":
            raise SystemExit(f"tier 3 unavailable: {reason}")
        yield None, f"not measured: `scripts/local-cluster up` failed ({reason})"
        return
    info = json.loads(up.stdout.strip().splitlines()[-1])
    try:
        yield (
            RealTarget(
                Path(info["kubeconfig"]),
                info["context"],
                (f"image={info['images']['app']}", "pullPolicy=Never"),
                work,
            ),
            f"the local cluster of scripts/local-cluster (Kubernetes {info.get('kubernetes_version')}, "
            "one node)",
        )
    finally:
        subprocess.run(
            [*script, "down", "--workdir", str(work)], capture_output=True, env=env, timeout=300, check=False
        )
        shutil.rmtree(work, ignore_errors=True)


def _local_obstacle() -> str | None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "the local cluster needs Linux and root"
    if not (
        Path(os.environ.get("LAB_ENVTEST_DIR") or Path.home() / ".cache/illm-lab/envtest") / "bin"
    ).is_dir():
        return "the local cluster is not built (scripts/local-cluster build)"
    return None


def _current_context(kubeconfig: Path) -> str:
    import yaml

    return str((yaml.safe_load(kubeconfig.read_text()) or {}).get("current-context") or "")


# ---------------------------------------------------------------- the measurements


def measure_faults(plan: Plan, real: RealTarget | None) -> dict[str, Any]:
    progress("faults (tier 2)")
    rows: dict[str, Any] = {}
    everything: list[Trial] = []
    for name, (description, _schedule) in faults.SCHEDULES.items():
        if plan.smoke and name not in SMOKE_SCHEDULES:
            continue
        seeds = plan.random_seeds if name == "random" else plan.scheduled_seeds
        found = trials(name, seeds, lambda path, seed, n=name: faults.fault_trial(path, n, seed))
        rows[name] = {"description": description, **summarise(found)}
        everything += found
    out: dict[str, Any] = {"tier2": {"schedules": rows, "total": summarise(everything)}}
    if real is not None:
        progress("faults (real cluster)")
        rows3: dict[str, Any] = {}
        all3: list[Trial] = []
        for name in ["random", "server-errors", "watch-drops", "delete-outage"]:
            seeds = plan.scheduled_seeds[:1] if name != "random" else plan.scheduled_seeds
            found = trials(
                f"{name} (real)",
                seeds,
                lambda path, seed, n=name: faults.fault_trial(path, n, seed, real=real),
            )
            rows3[name] = {"description": faults.SCHEDULES[name][0], **summarise(found)}
            all3 += found
        out["tier3"] = {"schedules": rows3, "total": summarise(all3)}
    return out


def measure_real_faults(plan: Plan, real: RealTarget | None) -> dict[str, Any]:
    """The ledger and the disk (tier 2), then real faults of the cluster (tier 3; the finalizer
    on any real cluster): every trial as `cluster_faults.FaultTrial.as_dict()`."""
    found: list[cluster_faults.FaultTrial] = []
    with workdir() as path:
        progress("damaged ledger files (tier 2)")
        found.append(cluster_faults.damaged_ledger_trial(path / "ledger"))
    if os.geteuid() == 0:
        with workdir() as path:
            progress("full state dir (tier 2)")
            found += cluster_faults.disk_full_trials(path / "work", path / "small")
    if real is not None:
        with workdir() as path:
            progress("finalizer (real cluster)")
            found.append(cluster_faults.finalizer_trial(path, real))
        steps = ["deploy"] if plan.smoke else ["deploy", "checks", "teardown"]
        if real.workdir is not None:
            with workdir() as path:  # first: it needs a control plane no outage has shaken
                progress("kubelet stopped (tier 3)")
                found.append(cluster_faults.kubelet_trial(path, real, real.workdir))
            for step in steps:
                for _ in plan.scheduled_seeds:
                    with workdir() as path:
                        progress(f"API server killed at {step} (tier 3)")
                        found.append(cluster_faults.apiserver_trial(path, real, real.workdir, step))
    return {"trials": [t.as_dict() for t in found]}


def measure_interrupts(plan: Plan) -> dict[str, Any]:
    progress("interrupts (tier 2)")
    out: dict[str, Any] = {}
    commands = (
        ("conduct", interrupts.conduct_trial),
        ("apply", interrupts.apply_trial),
        ("hub bootstrap", interrupts.hub_trial),
    )
    for command, run in commands:
        found = trials(command, plan.interrupt_seeds, run)
        by_signal = Counter(interrupts.Plan.draw(command.split()[0], t.seed).signal for t in found)
        out[command] = {
            **summarise(found),
            "bySignal": dict(sorted(by_signal.items())),
            "left": sum(len(t.orphans) for t in found),
        }
    return out


def measure_bad_input(plan: Plan) -> dict[str, Any]:
    progress("bad input")
    cases = corpus.all_cases()
    if plan.smoke:
        cases = [next(c for c in cases if c.group == g) for g in sorted({c.group for c in cases})]
    outcomes = []
    for case in cases:
        with workdir() as path:
            outcomes.append(corpus.run_case(case, path))
    groups: dict[str, Any] = {}
    for group in sorted({c.group for c in cases}):
        mine = [o for o in outcomes if o.case.group == group]
        groups[group] = {
            "cases": len(mine),
            "ok": sum(o.ok for o in mine),
            "tracebacks": sum(o.run.crashed or bool(o.lint and o.lint.crashed) for o in mine),
            "wrongExit": sum(o.run.exit_code != o.case.exit for o in mine),
            "linted": sum(o.lint is not None for o in mine),
        }
    fuzz = _fuzz(plan)
    return {
        "cases": len(outcomes),
        "ok": sum(o.ok for o in outcomes),
        "tracebacks": sum(g["tracebacks"] for g in groups.values()),
        "wrongExit": sum(g["wrongExit"] for g in groups.values()),
        "exitCodes": dict(sorted(Counter(str(o.run.exit_code) for o in outcomes).items())),
        "groups": groups,
        "problems": [o.as_dict() for o in outcomes if not o.ok],
        "fuzz": fuzz,
    }


def _fuzz(plan: Plan) -> dict[str, Any]:
    """Run the property-based tests (hypothesis, derandomized) with FUZZ_EXAMPLES examples each
    and report their outcome."""
    if plan.smoke:
        return {"skipped": "smoke run"}
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-show-statistics",
            str(REPO / "tests" / "reliability" / "test_bad_input.py"),
            "-k",
            "fuzzed",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        env={**os.environ, "LAB_FUZZ_EXAMPLES": str(FUZZ_EXAMPLES)},
    )
    blocks = re.split(r"^\S+::(test_\w+):$", result.stdout, flags=re.M)
    properties: dict[str, tuple[int, int]] = {}
    for name, block in zip(blocks[1::2], blocks[2::2], strict=True):
        first = re.search(r"(\d+) passing, (\d+) failing", block)  # the generate phase
        properties[name] = (int(first[1]), int(first[2])) if first else (0, 0)
    summary = [ln for ln in result.stdout.strip().splitlines() if " passed" in ln or " failed" in ln]
    return {
        "tests": len(properties),
        "names": sorted(properties),
        "examples": sum(c[0] for c in properties.values()),
        "failing": sum(c[1] for c in properties.values()),
        "result": summary[-1].strip("= ") if summary else f"pytest exit {result.returncode}",
        "exit": result.returncode,
        "seconds": round(time.monotonic() - started, 1),
    }


def measure_security(plan: Plan) -> dict[str, Any]:
    progress("security")
    escapes = []
    for ident, template in security.ESCAPES[: 3 if plan.smoke else None]:
        with workdir() as path:
            escapes.append(security.escape_trial(ident, template, path))
    with workdir() as path:
        scan = security.token_scan(path)
    with workdir() as path:
        privacy = security.state_privacy(path)
    with workdir() as path:
        gate = security.command_gate(path)
    shells = security.shell_uses(REPO / "src")
    return {
        "escapes": {
            "attempts": len(escapes),
            "succeeded": sum(e.succeeded for e in escapes),
            "refused": sum(e.exit_code == 2 for e in escapes),
            "crashed": sum(e.crashed for e in escapes),
        },
        "tokenScan": {
            "places": scan.places,
            "occurrences": len(scan.occurrences),
            "requestsWithToken": scan.requests_with_token,
            "eventsMode": oct(scan.events_mode),
        },
        "privacy": {
            "files": privacy.files,
            "kubeconfigs": len(privacy.kubeconfigs),
            "exposed": privacy.exposed,
        },
        "shell": [str(s) for s in shells],
        "commandGate": {"refused": gate.refused, "attempts": 2, "ranUnasked": gate.ran_unasked,
                        "runsRecorded": gate.runs_recorded, "ranWithFlag": gate.ran_with_flag,
                        "ranTrusted": gate.ran_trusted, "refusedChanged": gate.refused_changed},
    }


def measure_load(plan: Plan, real: RealTarget | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n = plan.load_conducts
    for mode in ("processes",) if plan.smoke else ("processes", "parallel flag"):
        progress(f"load (tier 2, {mode}, {n} conducts)")
        with workdir() as path:
            names = copies(n)
            with tier2(path, names) as stack:
                out[f"tier2 {mode}"] = load.load_trial(stack, names, path, mode=mode).as_dict()
        if real is not None:
            progress(f"load (real cluster, {mode}, {n} conducts)")
            with workdir() as path:
                names = copies(n, prefix=f"load{uuid.uuid4().hex[:4]}")
                with tier3(path, real.kubeconfig, real.context, names, (*real.params, "replicas=1")) as stack:
                    out[f"tier3 {mode}"] = load.load_trial(stack, names, path, mode=mode).as_dict()
    return out


# ---------------------------------------------------------------- the document


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"


def render(figures: Figures, plan: Plan) -> str:
    s = figures.sections
    smoke = " — SMOKE RUN, one iteration of each part" if plan.smoke else ""
    lines = [
        "# Reliability and security figures",
        "",
        *_para(
            f"""Generated by `scripts/reliability-report` (bench/reliability.py) — do not edit by hand.
            Run {figures.started} on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs,
            Python {platform.python_version()}, commit {figures.commit or _commit()}{smoke}. Tier 2 is
            the API emulator (tests/support/emulator.py); tier 3: {figures.tier3}. The test suite
            (tests/reliability/) asserts the same invariants on fewer seeds; timings are never
            asserted."""
        ),
    ]
    if "faults" in s:
        lines += _faults_section(s["faults"])
    if "realFaults" in s:
        lines += _real_faults_section(s["realFaults"])
    if "interrupts" in s:
        lines += _interrupts_section(s["interrupts"])
    if "badInput" in s:
        lines += _bad_input_section(s["badInput"])
    if "security" in s:
        lines += _security_section(s["security"])
    if "load" in s:
        lines += _load_section(s["load"], figures.tier3)
    return "\n".join(lines).rstrip() + "\n"


def _faults_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Faults across whole conducts",
        "",
        *_para(
            """The fault proxy (tests/support/faultproxy.py) sits between `lab conduct` and the API
            server. A conduct ends *correctly* when it passes, or fails with one clear error and a
            ledger that names every object still on the cluster; a fault-free `lab down` then runs
            and whatever still carries lab's labels is an *orphan*. A *duplicate* is an object
            created twice within one trial. Goals: all correct, 0 duplicates, 0 orphans."""
        ),
    ]
    for tier, label in (("tier2", "tier 2 (API emulator)"), ("tier3", "tier 3 (real cluster)")):
        if tier not in data:
            continue
        total = data[tier]["total"]
        lines += [
            f"**{label}:** {_share(total['correct'], total['trials'])} conducts ended correctly; "
            f"{total['duplicates']} duplicates, {total['orphans']} orphans, {total['crashes']} tracebacks; "
            f"{total['faults']} faults injected.",
            "",
            "| schedule | faults | trials | correct | passed | failed clearly | duplicates | orphans "
            "| seeds |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, row in data[tier]["schedules"].items():
            lines.append(
                f"| `{name}` — {row['description']} | {row['faults']} | {row['trials']} | {row['correct']} | "
                f"{row['passed']} | {row['failedClearly']} | {row['duplicates']} | {row['orphans']} | "
                f"{_seeds(row['seeds'])} |"
            )
        lines.append("")
        bad_rows = [bad for row in data[tier]["schedules"].values() for bad in row["incorrect"]]
        for bad in bad_rows:
            lines.append(f"- not correct: `{bad['name']}` seed {bad['seed']}: {bad['detail'][:200]}")
        if bad_rows:
            lines.append("")
    return lines


def _real_faults_section(data: dict[str, Any]) -> list[str]:
    trials = data["trials"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for t in trials:
        groups.setdefault(f"{t['fault']} — {t['point']}" if t["fault"].startswith("API") else t["fault"],
                          []).append(t)
    lines = [
        "## Real faults: the ledger, the disk, the cluster",
        "",
        *_para(
            """tests/reliability/cluster_faults.py. *Damaged ledger files*: beside a real run, a
            file that is not JSON, a truncated copy and one of a newer format; `lab status` must
            name each once and go on, `lab down` must remove everything (tier 2). *State dir
            full*: the state dir on a tmpfs of n inodes, n = 3, 4, ... until the conduct passes,
            so each write lab makes is in turn the one refused; each run must pass or stop with
            one line, and `lab down` afterwards (with room again) must leave nothing (tier 2). On
            the tier-3 cluster: the API server SIGKILLed when the conduct reaches a step and
            started again 3 s later; the kubelet stopped during a whole conduct (the deploy must
            name the node, teardown end within `--teardown-timeout` naming the pods stuck
            Terminating, and `lab down` finish once the kubelet is back); a ConfigMap with a
            finalizer nobody removes (teardown and `lab down` name it and leave it; `lab down
            --force-finalizers` removes it). Goal: every trial correct, 0 objects left."""
        ),
        "",
        "| fault | trials | correct | objects left | runs (command: exit) |",
        "|---|---|---|---|---|",
    ]
    for name, group in groups.items():
        runs = sorted({f"{c}: {e}" for t in group for c, e, _ in t["runs"]})
        lines.append(f"| {name} | {len(group)} | {sum(t['correct'] for t in group)} | "
                     f"{sum(len(t['left']) for t in group)} | {', '.join(runs)} |")
    said = [t for t in trials if t["fault"] in ("kubelet stopped", "namespace held by a finalizer")]
    for t in said:
        lines += ["", f"{t['fault']}: what lab said —", ""]
        lines += [f"- `{c}` (exit {e}): {line[:400]}" for c, e, line in t["runs"]]
    return [*lines, ""]


def _interrupts_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Interrupts",
        "",
        *_para(
            """Each seed draws a signal (SIGINT, SIGTERM, SIGKILL), a point and a delay of 0-250 ms.
            `lab conduct`: a random step, reached on the `--events` stream. `lab apply` and `lab hub
            bootstrap` (a platform of the fixture's manifests on an existing cluster): a random
            request, held by the fault proxy and released before or after the signal (then the
            request reaches the server after its sender stopped). SIGINT/SIGTERM must make a
            conduct tear down by itself; SIGKILL and every apply are followed by `lab down`, every
            hub bootstrap by `lab hub destroy --yes`. Figure: objects left carrying lab's labels at
            the end (goal 0). Tier 2."""
        ),
        "| command | trials | correct | objects left | by signal | seeds |",
        "|---|---|---|---|---|---|",
    ]
    for command, row in data.items():
        signals = ", ".join(f"{k} {v}" for k, v in row["bySignal"].items())
        lines.append(
            f"| `lab {command}` | {row['trials']} | {row['correct']} | {row['left']} | {signals} | "
            f"{_seeds(row['seeds'])} |"
        )
    lines.append("")
    bad_rows = [bad for row in data.values() for bad in row["incorrect"]]
    for bad in bad_rows:
        lines.append(f"- not correct: `{bad['name']}` seed {bad['seed']}: {bad['detail'][:200]}")
    if bad_rows:
        lines.append("")
    return lines


def _bad_input_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Bad input",
        "",
        *_para(
            """The corpus (tests/reliability/corpus.py): every case must exit 2 (1 under `lab lint`,
            3 for an unreachable cluster) with one error line naming the file and field (with the
            line) or the flag, and never a traceback. YAML hazards (alias bombs, deep nesting, huge
            files, binary garbage, duplicate keys, non-UTF-8, ...) are applied to manifests, values
            files, lab config files, kubeconfigs and rendered templates."""
        ),
        f"**{data['cases']} cases: {data['tracebacks']} tracebacks, {data['wrongExit']} wrong exit codes, "
        f"{_share(data['ok'], data['cases'])} fully as expected** (exit codes: "
        + ", ".join(f"{k}: {v}" for k, v in data["exitCodes"].items())
        + ").",
        "",
        "| group | cases | as expected | tracebacks | wrong exit | also linted |",
        "|---|---|---|---|---|---|",
    ]
    for group, row in data["groups"].items():
        lines.append(
            f"| {group} | {row['cases']} | {row['ok']} | {row['tracebacks']} | {row['wrongExit']} | "
            f"{row['linted']} |"
        )
    lines.append("")
    for bad in data["problems"]:
        lines.append(f"- `{bad['id']}`: {'; '.join(bad['problems'])[:200]}")
    fuzz = data["fuzz"]
    if "skipped" in fuzz:
        lines += [f"Property-based fuzzing: {fuzz['skipped']}.", ""]
    else:
        lines += [
            *_para(
                f"""Property-based fuzzing (hypothesis, derandomized, `deadline=None`, up to
                {FUZZ_EXAMPLES} examples each): {fuzz["tests"]} properties
                ({", ".join(n.removeprefix("test_fuzzed_") for n in fuzz.get("names", []))}),
                {fuzz["examples"]} passing and {fuzz["failing"]} failing examples — pytest:
                {fuzz["result"]}."""
            )
        ]
    return lines


def _security_section(data: dict[str, Any]) -> list[str]:
    esc, scan, priv = data["escapes"], data["tokenScan"], data["privacy"]
    return [
        "## Security",
        "",
        "| probe | figure | goal |",
        "|---|---|---|",
        f"| template sandbox escapes (Python internals, files outside the experiment, environment) | "
        f"{esc['succeeded']} of {esc['attempts']} succeeded ({esc['refused']} refused with exit 2) | 0 |",
        f"| bearer token and `secret: true` value in a full conduct's stdout, stderr, JSON report, JUnit, "
        f"events file, ledger and state dir ({scan['places']} places, token sent in "
        f"{scan['requestsWithToken']} requests) | {scan['occurrences']} occurrences | 0 |",
        f"| state files (ledger, locks, a created cluster's kubeconfig and records) readable by others | "
        f"{len(priv['exposed'])} of {priv['files']} files (kubeconfigs: {priv['kubeconfigs']}); events file "
        f"{scan['eventsMode']} | 0 |",
        f"| `shell=True`, `os.system`, `os.popen`, ... in src/ (AST scan) | {len(data['shell'])} | 0 |",
        *_command_gate_row(data.get("commandGate")),
        "",
    ]


def _command_gate_row(gate: dict[str, Any] | None) -> list[str]:
    if gate is None:
        return []
    yes = {True: "yes", False: "NO", None: "not measured"}
    return [
        f"| `command` check (a local program) of a catalog you do not work in, run by `lab conduct` or "
        f"`lab validate` without `--allow-commands` (then: runs with the flag: {yes[gate['ranWithFlag']]}; "
        f"runs after `lab trust`: {yes[gate.get('ranTrusted')]}; refused again once a file changed: "
        f"{yes[gate.get('refusedChanged')]}) | {gate['ranUnasked']} of {gate['attempts']} ran "
        f"({gate['refused']} refused with exit 2 before deploying, {gate['runsRecorded']} ledger runs) | 0 |",
    ]


def _load_section(data: dict[str, Any], tier3: str) -> list[str]:
    lines = [
        "## Load: conducts in parallel",
        "",
        *_para(
            """N copies of the fixture experiment (own name, instance and namespace) conducted at
            once against one cluster and one state dir: as N `lab conduct` processes, and as one
            `lab conduct --parallel 16`. Ratio = wall time of all of them / wall time of one conduct
            alone, measured just before (goal <= 3x on the real cluster). Cross-talk is looked for
            in each conduct's events and in the ledger."""
        ),
        "| tier | mode | conducts | passed | alone | together | ratio | cross-talk | left | duplicates |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row in data.items():
        tier, _, mode = key.partition(" ")
        lines.append(
            f"| {tier} | {mode} | {row['conducts']} | {_share(row['passed'], row['conducts'])} | "
            f"{row['alone']} s | {row['together']} s | {row['ratio']}x | {len(row['crossTalk'])} | "
            f"{len(row['left'])} | {row['duplicates']} |"
        )
    tier3 = {key: row for key, row in data.items() if key.startswith("tier3")}
    for key, row in tier3.items():
        steps = row.get("aloneSteps") or {}
        slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:3]
        worst = max(r["ratio"] for r in tier3.values())
        lines += [
            "",
            *_para(
                f"""Tier 3, one conduct alone ({key.partition(" ")[2]}): """
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest)
                + f""" of {row["alone"]} s. Goal <= 3x: {"met" if worst <= 3 else "NOT met"} (worst
                ratio {worst}x)."""
            ),
        ]
        break
    if not any(k.startswith("tier3") for k in data):
        lines += [
            "",
            *_para(
                f"""Tier 3 {tier3}. On tier 2 a conduct is CPU-bound (the emulator answers at once),
                so on a few CPUs the ratio measures Python start-up, rendering and linting of N
                conducts competing for the CPUs; it is not the P6 figure, which needs the real
                cluster, where a conduct mostly waits for pods."""
            ),
        ]
    else:
        lines.append("")
    return lines


def _para(text: str) -> list[str]:
    """A paragraph of prose as markdown lines of at most 100 characters, then a blank line."""
    return [*textwrap.wrap(" ".join(text.split()), 100, break_on_hyphens=False), ""]


def _seeds(seeds: list[int]) -> str:
    if not seeds:
        return "-"
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}{' (with local changes)' if dirty else ''}"


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one iteration of everything")
    parser.add_argument("--no-write", action="store_true", help="print the document, do not write it")
    parser.add_argument("--doc", type=Path, default=DOC, help="where to write the document")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per fault schedule (random: 5x)")
    parser.add_argument("--tier3", choices=["auto", "on", "off"], default="auto")
    parser.add_argument(
        "--only",
        action="append",
        choices=["faults", "real-faults", "interrupts", "bad-input", "security", "load"],
        help="measure only these parts (repeatable)",
    )
    parser.add_argument(
        "--merge", type=Path, help="figures of an earlier run (its --json): keep the parts not measured now"
    )
    parser.add_argument("--cluster-kubeconfig", help="a real cluster to use as tier 3/4")
    parser.add_argument("--cluster-context")
    parser.add_argument("--cluster-image", help="a podinfo-compatible image the cluster can run")
    args = parser.parse_args(argv)
    plan = Plan(smoke=args.smoke, seeds=max(1, args.seeds))
    parts = set(args.only or ["faults", "real-faults", "interrupts", "bad-input", "security", "load"])
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    tier3_mode = "off" if plan.smoke else args.tier3
    with real_cluster(tier3_mode, args) as (real, description):
        figures = Figures(started, description, commit=_commit())
        if args.merge:
            earlier = json.loads(args.merge.read_text())
            figures.tier3 = str(earlier.pop("tier3", description))
            earlier.pop("commit", None)
            figures.started = f"{earlier.pop('started', '?')}, partly re-measured {started}"
            figures.sections.update(earlier)
        if "faults" in parts:
            figures.sections["faults"] = measure_faults(plan, real)
        if "real-faults" in parts:
            figures.sections["realFaults"] = measure_real_faults(plan, real)
        if "interrupts" in parts:
            figures.sections["interrupts"] = measure_interrupts(plan)
        if "bad-input" in parts:
            figures.sections["badInput"] = measure_bad_input(plan)
        if "security" in parts:
            figures.sections["security"] = measure_security(plan)
        if "load" in parts:
            figures.sections["load"] = measure_load(plan, real)
    text = render(figures, plan)
    if args.no_write:
        print(text)
    else:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(text, encoding="utf-8")
        progress(f"wrote {args.doc}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "started": figures.started,
                    "tier3": figures.tier3,
                    "commit": figures.commit,
                    **figures.sections,
                },
                indent=1,
                default=str,
            )
        )
    return {"text": text, **figures.sections}


if __name__ == "__main__":
    main()
