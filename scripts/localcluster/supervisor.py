"""Run `up` in a detached supervisor process that stays the parent of every component.

Why: `up` must return once the cluster is ready, but the components it started then lose
their parent; where PID 1 reaps orphans late or never (this sandbox's left the stopped
components as zombies after `down`), teardown leaves a trail of zombies, and containerd's
shims would be re-parented far away. So `up` forks first: the child starts the cluster,
sends the result back through a pipe, detaches from the caller's stdio and then only reaps —
its own children and, as a child subreaper, the orphaned containerd shims and containers —
until everything is gone after `down`, when it exits by itself.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path

from . import cluster, components
from .proc import ClusterError, log

PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log("could not become a child subreaper; orphaned shims are reaped by PID 1")


def _detach(workdir: Path, started: bool) -> None:
    """Let go of the caller's stdin/stdout/stderr, so a caller reading them sees EOF.

    Later messages go to logs/supervisor.log of a started cluster; after a failed start the
    work dir is left as `down` left it.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    logfd = devnull
    if started:
        logs = workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        logfd = os.open(logs / "supervisor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(logfd, 2)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _reap(bounded: float | None) -> None:
    """Wait for all children (and adopted orphans).

    With `bounded` (after a failed start, which has already run `down`): give them that long,
    then SIGKILL whatever is left, so nothing outlives a failed start.
    """
    deadline = None if bounded is None else time.monotonic() + bounded
    while True:
        try:
            if deadline is None:
                os.wait()
                continue
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            if time.monotonic() > deadline:
                for child in _children():
                    os.kill(child, signal.SIGKILL)
                deadline = None  # now wait for the killed ones
                continue
            time.sleep(0.1)


def _child(workdir: Path, result_fd: int) -> None:
    os.setsid()
    _become_subreaper()
    # SIGINT reaches only the caller's process group; the parent forwards it as SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        payload = {"ok": True, "info": cluster.up(workdir, supervisor_pid=os.getpid())}
    except ClusterError as exc:
        payload = {"ok": False, "error": str(exc)}
    except KeyboardInterrupt:
        payload = {"ok": False, "error": "interrupted; the partial cluster was torn down"}
    except Exception as exc:  # report anything to the waiting parent, never hang it
        payload = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if payload["ok"]:  # `start <component>` asks through a signal (components.py)
        signal.signal(signal.SIGUSR1, lambda *_: components.serve_requests(workdir))
    os.write(result_fd, json.dumps(payload).encode())
    os.close(result_fd)
    _detach(workdir, started=bool(payload["ok"]))
    _reap(None if payload["ok"] else 10.0)


def up(workdir: Path) -> int:
    """Start the cluster; print its JSON description; exit status 0 when it is ready."""
    workdir = workdir.resolve()
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _child(workdir, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except KeyboardInterrupt:
            os.kill(pid, signal.SIGTERM)  # the child tears down, then reports
            continue
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    if not chunks:
        print("local-cluster: error: the start-up process died without a result", file=sys.stderr)
        return 1
    payload = json.loads(b"".join(chunks))
    if not payload["ok"]:
        print(f"local-cluster: error: {payload['error']}", file=sys.stderr)
        return 1
    print(json.dumps(payload["info"]), flush=True)
    return 0
