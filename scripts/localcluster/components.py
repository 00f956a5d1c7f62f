"""Stopping and starting one component of a running cluster: real faults for the tests.

`stop kube-apiserver` or `stop kubelet` is what an outage looks like from the outside — the
API server refusing connections, a node whose kubelet no longer reports — and `start` brings
the component back with the arguments it was first started with.

Why `start` goes through the supervisor: the components must stay children of the supervisor
process (it reaps them; see supervisor.py), so the command line only leaves a request in the work
dir and signals the supervisor (SIGUSR1), which starts the component itself and records its pid.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from . import cluster
from .proc import ClusterError, log
from .state import State, alive

REQUESTS = "requests"
STOP_GRACE = 20.0
START_WAIT = 30.0


def _running(workdir: Path) -> State:
    state = State.load(workdir.resolve())
    if state is None or state.phase != "running":
        raise ClusterError(f"no running cluster in {workdir}")
    return state


def _component(state: State, name: str) -> None:
    if name not in state.processes:
        raise ClusterError(f"unknown component {name!r} (one of: {', '.join(sorted(state.processes))})")


def stop(workdir: Path, name: str, *, kill: bool = False) -> dict[str, object]:
    """SIGTERM (`kill`: SIGKILL) the component and wait until it has exited (SIGKILL after
    STOP_GRACE)."""
    state = _running(workdir)
    _component(state, name)
    process = state.processes[name]
    if not alive(process):
        return {"component": name, "stopped": False, "reason": "not running"}
    os.kill(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while alive(process):
        if time.monotonic() > deadline:
            os.kill(process.pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_GRACE
        time.sleep(0.05)
    return {"component": name, "stopped": True, "pid": process.pid}


def start(workdir: Path, name: str) -> dict[str, object]:
    """Ask the supervisor to start the stopped component again; wait until it runs."""
    state = _running(workdir)
    _component(state, name)
    if alive(state.processes[name]):
        return {"component": name, "started": False, "reason": "already running"}
    if state.supervisor is None or not alive(state.supervisor):
        raise ClusterError("the cluster's supervisor process is gone: run `down` and `up`")
    requests = Path(state.workdir) / REQUESTS
    requests.mkdir(exist_ok=True)
    (requests / f"{name}.json").write_text(json.dumps({"start": name}))
    os.kill(state.supervisor.pid, signal.SIGUSR1)
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        again = State.load(Path(state.workdir))
        if again is not None and alive(again.processes[name]) \
                and again.processes[name].pid != state.processes[name].pid:
            return {"component": name, "started": True, "pid": again.processes[name].pid}
        time.sleep(0.05)
    raise ClusterError(f"{name} did not start within {START_WAIT:.0f}s (see logs/{name}.log)")


def serve_requests(workdir: Path) -> None:
    """In the supervisor, on SIGUSR1: start every component a request names."""
    requests = workdir / REQUESTS
    for request in sorted(requests.glob("*.json")) if requests.is_dir() else []:
        name = request.stem
        request.unlink()
        state = State.load(workdir)
        if state is None or name not in state.processes or alive(state.processes[name]):
            continue
        recorded = state.processes[name]
        if not recorded.argv:
            log(f"{name}: started by an older version, its arguments are unknown")
            continue
        try:
            cluster.Starter(state).start(name, recorded.argv, in_netns=recorded.in_netns)
        except (OSError, ClusterError) as exc:
            log(f"{name}: could not start again: {exc}")
