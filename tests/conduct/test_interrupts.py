"""The interrupt matrix: SIGINT, SIGTERM and SIGKILL (then `lab down`) delivered at every
pipeline step, synchronised on the `--events` stream, never on timing. Invariant: no object
carrying lab's labels is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conduct.test_conduct_emulator import labelled
from tests.support.demoapp import demo_app
from tests.support.emulator import LabEmulator

REPO = Path(__file__).resolve().parents[2]
STEPS = ["render", "lint", "plan", "clusters", "deploy", "checks", "workflow", "teardown"]


@pytest.fixture
def hello(emulator: LabEmulator) -> Iterator[LabEmulator]:
    emulator.auto_ready(["Deployment", "Job"], after=0.2)
    with demo_app() as url:
        emulator.register_backend("hello", "hello-app", 9898, url)
        yield emulator


def start(emulator: LabEmulator, events: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "illm_lab", "--experiments-dir", str(REPO / "experiments"), "conduct",
         "hello-app", "--ci", "--kubeconfig", str(emulator.kubeconfig), "--events", str(events)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )


def wait_for_step(proc: subprocess.Popen[str], events: Path, step: str, timeout: float = 60) -> None:
    """Follow the events file until `step.started <step>` (a bounded wait on the stream)."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        if events.exists():
            lines = events.read_text().splitlines()
            for line in lines[seen:]:
                event = json.loads(line)
                if event["event"] == "step.started" and event["step"] == step:
                    return
            seen = len(lines)
        if proc.poll() is not None:
            raise AssertionError(f"conduct ended before step {step}: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.005)  # polling a file another process appends to; there is no watch for it
    raise AssertionError(f"step {step} not reached in {timeout}s")


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_at_each_step_tears_down(hello: LabEmulator, tmp_path: Path, step: str, sig: int) -> None:
    events = tmp_path / "events.jsonl"
    proc = start(hello, events)
    wait_for_step(proc, events, step)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode in ((0, 130) if step == "teardown" else (130,)), err
    assert "Traceback" not in err
    assert labelled(hello) == []


@pytest.mark.parametrize("step", ["clusters", "deploy", "checks", "workflow"])
def test_sigkill_then_down_removes_everything(hello: LabEmulator, tmp_path: Path, step: str) -> None:
    events = tmp_path / "events.jsonl"
    proc = start(hello, events)
    wait_for_step(proc, events, step)
    proc.kill()
    proc.communicate(timeout=60)
    down = subprocess.run(
        [sys.executable, "-m", "illm_lab", "--experiments-dir", str(REPO / "experiments"), "down", "hello-app"],
        capture_output=True, text=True, timeout=120,
    )
    assert down.returncode == 0, down.stderr
    assert labelled(hello) == []


def test_one_workers_teardown_never_unshields_another() -> None:
    import threading

    from illm_lab.conduct.interrupts import Interrupts

    guard = Interrupts()
    a_shielded, b_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def worker_a() -> None:
        guard.shielded = True  # A's teardown begins
        a_shielded.set()
        b_done.wait(5)
        seen.append(guard.shielded)  # still inside A's teardown
        guard.shielded = False

    def worker_b() -> None:
        a_shielded.wait(5)
        guard.shielded = True
        guard.shielded = False  # B's teardown ends
        b_done.set()

    threads = [threading.Thread(target=worker_a), threading.Thread(target=worker_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [True]
    assert guard.shielded is False  # the main thread was never shielded
