"""Real faults of a real cluster (tier 3): what the fault proxy cannot fake.

* **API server killed** (SIGKILL) when a conduct reaches a step — deploy, checks or teardown —
  and started again after an outage: connections are refused, in-flight requests reset, watches
  end. The conduct must end with its verdict or one clear error, and a `lab down` afterwards
  must leave nothing.
* **kubelet stopped** before a conduct: the pods are bound to a node that never starts them. The
  deploy must fail (naming the node once its lease is late); teardown must end within its deadline
  and say what is stuck (pods Terminating on that node, which only its kubelet can confirm
  stopped); once the kubelet is back, `lab down` finishes.
* **a finalizer nobody removes** on an object of the experiment: teardown must name the
  finalizer, never remove it unasked, and `lab down --force-finalizers` must finish the job.
* **a full disk** under the state directory (a tmpfs with few inodes, so that each write lab
  makes in turn is the one refused): every run must pass or stop with one clear line, and none
  may leave anything on the cluster.

The first two stop and start components of the local cluster (`scripts/local-cluster stop|start`),
so they run on tier 3 only; the finalizer on any real cluster; the full disk on the emulator. `bench/reliability.py` runs the
same trials for docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.harness import (
    LabRun,
    RealTarget,
    conduct_args,
    finish,
    lab_env,
    run_lab,
    start_lab,
    tier2,
    tier3,
)
from tests.reliability.interrupts import wait_for_step

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local-cluster"
NODE_SILENCE = "whose kubelet"
PINNED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: pinned
  finalizers: [example.com/hold]
data: {held: "yes"}
"""


@dataclass
class FaultTrial:
    """One trial of a real fault: how the runs ended and what stayed on the cluster."""

    fault: str
    point: str
    runs: list[tuple[str, int, str]] = field(default_factory=list)  # (command, exit, one line)
    crashed: bool = False
    expected: bool = True  # every run ended as the fault allows, with the message it must carry
    left: list[str] = field(default_factory=list)  # lab objects after the last `lab down`
    detail: str = ""

    @property
    def correct(self) -> bool:
        return self.expected and not self.crashed and not self.left

    def saw(self, command: str, run: LabRun) -> LabRun:
        lines = run.error_lines
        self.runs.append((command, run.exit_code, lines[0] if lines else "ok"))
        self.crashed = self.crashed or run.crashed
        return run

    def as_dict(self) -> dict[str, Any]:
        return {"fault": self.fault, "point": self.point, "runs": self.runs, "crashed": self.crashed,
                "expected": self.expected, "left": self.left, "correct": self.correct,
                "detail": self.detail}


def component(workdir: Path, action: str, name: str, *, kill: bool = False) -> None:
    """`scripts/local-cluster stop|start NAME` on the cluster of `workdir`."""
    argv = [str(SCRIPT), action, name, "--workdir", str(workdir)] + (["--kill"] if kill else [])
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


RESTARTED = ("kube-controller-manager", "kube-scheduler", "kube-proxy")


@contextlib.contextmanager
def restarting(workdir: Path) -> Iterator[list[str]]:
    """While the block runs, start again each of RESTARTED that exited — as the kubelet or
    systemd does on a real control plane: the controller manager and the scheduler exit when
    they lose their leader lease, which an API server outage of a few seconds can cause. Yields
    the names started (a component is also started once more at the end if it exited)."""
    started: list[str] = []
    done = threading.Event()

    def revive() -> None:
        status = json.loads(subprocess.run([str(SCRIPT), "status", "--workdir", str(workdir)],
                                           check=True, capture_output=True, text=True).stdout)
        for name in RESTARTED:
            if status["processes"].get(name) is False:
                component(workdir, "start", name)
                started.append(name)

    def loop() -> None:
        while not done.wait(1.0):  # a supervisor's period, not a readiness poll
            revive()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield started
    finally:
        done.set()
        thread.join()
        revive()


def _lab_down(stack: Any, name: str, env: dict[str, str], *extra: str) -> LabRun:
    return run_lab(["--experiments-dir", str(stack.catalog), "down", name,
                    "--kubeconfig", str(stack.kubeconfig), "--context", stack.real[1], *extra], env=env)


def _events_of(run_dir: Path) -> Path:
    return run_dir / "events.jsonl"


def apiserver_trial(workdir: Path, real: RealTarget, cluster_dir: Path, step: str,
                    outage: float = 3.0) -> FaultTrial:
    """Kill the API server when the conduct reaches `step`, start it again `outage` seconds
    later; then `lab down`."""
    trial = FaultTrial("API server killed and restarted", step)
    name = f"relia-a{uuid.uuid4().hex[:6]}"
    with tier3(workdir, real.kubeconfig, real.context, [name], real.params) as stack:
        env, events = lab_env(workdir / "lab"), _events_of(workdir)
        args = conduct_args(stack, name, "--events", str(events), "--teardown-timeout", "90s")
        proc = start_lab(args, env=env)
        try:
            with restarting(cluster_dir) as revived:
                reached = wait_for_step(proc, events, step, timeout=120)
                if reached:
                    component(cluster_dir, "stop", "kube-apiserver", kill=True)
                    time.sleep(outage)  # the length of the outage is part of the trial's design
                    component(cluster_dir, "start", "kube-apiserver")
                run = trial.saw("conduct", finish(proc, args, timeout=300))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        report = _report(run)
        trial.expected = reached and (
            (run.exit_code == 0 and report.get("verdict") == "passed")
            or (run.exit_code in (1, 3) and len(run.error_lines) <= 1))
        trial.detail = f"conduct verdict {report.get('verdict')}; restarted: {', '.join(revived) or 'none'}"
        down = trial.saw("down", _lab_down(stack, name, env))
        trial.expected = trial.expected and down.exit_code == 0
        trial.left = stack.lab_objects(name)
    return trial


def kubelet_trial(workdir: Path, real: RealTarget, cluster_dir: Path) -> FaultTrial:
    """Stop the kubelet, conduct (its pods never start), start the kubelet, `lab down`."""
    trial = FaultTrial("kubelet stopped", "before deploy")
    name = f"relia-k{uuid.uuid4().hex[:6]}"
    with tier3(workdir, real.kubeconfig, real.context, [name], real.params, timeout="30s") as stack:
        env = lab_env(workdir / "lab")
        with restarting(cluster_dir):
            component(cluster_dir, "stop", "kubelet")
            try:
                args = conduct_args(stack, name, "--teardown-timeout", "20s")
                run = trial.saw("conduct", run_lab(args, env=env))
            finally:
                component(cluster_dir, "start", "kubelet")
        said = run.stderr + json.dumps(_report(run))
        trial.detail = said[-3000:]
        # the node is named: by the deploy once its lease is two renewals late, by teardown
        # with the pods stuck Terminating on it
        silent = "which is not Ready" in said or NODE_SILENCE in said
        trial.expected = (run.exit_code == 3 and len(run.error_lines) == 1
                          and "Terminating on node" in said and silent)
        down = trial.saw("down", _lab_down(stack, name, env, "--timeout", "3m"))
        trial.expected = trial.expected and down.exit_code == 0
        trial.left = stack.lab_objects(name)
    return trial


def finalizer_trial(workdir: Path, real: RealTarget) -> FaultTrial:
    """An object of the experiment carries a finalizer nobody removes: the conduct's teardown
    and a plain `lab down` name it and leave it; `lab down --force-finalizers` finishes."""
    trial = FaultTrial("namespace held by a finalizer", "teardown")
    name = f"relia-h{uuid.uuid4().hex[:6]}"
    with tier3(workdir, real.kubeconfig, real.context, [name], real.params) as stack:
        folder = stack.catalog / name
        (folder / "manifests" / "pinned.yaml").write_text(PINNED)
        spec = folder / "experiment.yaml"
        spec.write_text(spec.read_text().replace(
            "manifests: [manifests/config.yaml.j2]", "manifests: [manifests/config.yaml.j2, manifests/pinned.yaml]"))
        env = lab_env(workdir / "lab")
        run = trial.saw("conduct", run_lab(conduct_args(stack, name, "--teardown-timeout", "10s"), env=env))
        named = "example.com/hold" in " ".join(run.error_lines)
        plain = trial.saw("down", _lab_down(stack, name, env, "--timeout", "5s"))
        kept = "example.com/hold" in " ".join(plain.error_lines) and plain.exit_code == 3
        forced = trial.saw("down --force-finalizers", _lab_down(stack, name, env, "--force-finalizers"))
        trial.expected = (run.exit_code == 3 and named and kept and forced.exit_code == 0
                          and "removed finalizer example.com/hold" in forced.stderr)
        trial.left = stack.lab_objects(name) + _namespace(stack, name)
    return trial


def disk_full_trials(workdir: Path, tmpfs: Path, max_inodes: int = 16) -> list[FaultTrial]:
    """Conduct with the state dir on a tmpfs of n inodes, n = 3, 4, ...: each n refuses a later
    write (the state dir, a lock, the run file, the apply intent, the kept report) until the
    conduct passes; after each, with room again, `lab down`. The fault is local, so the cluster
    is the API emulator (tier 2). Needs root (mount)."""
    trials = []
    with tier2(workdir) as stack:
        for inodes in range(3, max_inodes + 1):
            tmpfs.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=1m,nr_inodes={inodes}", "tmpfs",
                            str(tmpfs)], check=True, capture_output=True)
            try:
                env = {**lab_env(tmpfs), "LAB_CACHE_DIR": str(workdir / "cache")}
                trial = FaultTrial("state dir full (ENOSPC)", f"{inodes} inodes")
                run = trial.saw("conduct", run_lab(conduct_args(stack, "relia"), env=env))
                full = "No space left on device" in " ".join(run.error_lines)
                trial.expected = run.exit_code == 0 or (run.exit_code == 3 and len(run.error_lines) == 1 and full)
                # room again: whatever the run left, `lab down` must find it in the ledger
                subprocess.run(["mount", "-o", "remount,nr_inodes=4096", str(tmpfs)], check=True,
                               capture_output=True)
                down = trial.saw("down", run_lab(["--experiments-dir", str(stack.catalog), "down", "relia"],
                                                 env=env))
                trial.expected = trial.expected and down.exit_code == 0
                trial.left = stack.lab_objects("relia")
                trials.append(trial)
            finally:
                subprocess.run(["umount", str(tmpfs)], check=True, capture_output=True)
            if run.exit_code == 0:
                break
    shutil.rmtree(tmpfs, ignore_errors=True)
    return trials


def _report(run: LabRun) -> dict[str, Any]:
    try:
        data = run.json()
    except ValueError:
        return {}
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    return data if isinstance(data, dict) else {}


def _namespace(stack: Any, name: str) -> list[str]:
    """The namespace itself, if it still exists (Terminating included)."""
    from illm_lab import kube

    with kube.connect(*stack.real) as cluster:
        return [f"Namespace/{name}"] if cluster.get("v1", "Namespace", name) is not None else []


def damaged_ledger_trial(workdir: Path) -> FaultTrial:
    """Beside a real run of `relia` (applied, on the emulator), plant run files that cannot be
    used — not JSON, a truncated copy of the real one, one written by a newer lab — then `lab
    status` must name each once and keep going, and `lab down` must still remove everything."""
    trial = FaultTrial("damaged ledger files", "status and down")
    with tier2(workdir) as stack:
        env = lab_env(workdir / "lab")
        base = ["--experiments-dir", str(stack.catalog)]
        trial.saw("apply", run_lab([*base, "apply", "relia", "--kubeconfig", str(stack.kubeconfig)], env=env))
        runs = Path(env["LAB_STATE_DIR"]) / "runs"
        real = sorted(runs.glob("*.json"))[-1]
        text = real.read_text()
        stem = real.stem.rsplit("-", 1)[0]
        planted = {
            f"{stem}-aaaaaa.json": "this is not JSON {",
            f"{stem}-bbbbbb.json": text[: len(text) // 2],
            f"{stem}-cccccc.json": json.dumps({**json.loads(text), "version": 999}),
        }
        for file, content in planted.items():
            (runs / file).write_text(content)
        status = trial.saw("status", run_lab(["status"], env=env))
        named = [f for f in planted if status.stderr.count(f) == 1]
        down = trial.saw("down", run_lab([*base, "down", "relia"], env=env))
        trial.expected = status.exit_code == 0 and len(named) == len(planted) and down.exit_code == 0
        trial.detail = f"{len(planted)} files planted, {len(named)} named once by `lab status`"
        trial.left = stack.lab_objects("relia")
    return trial
