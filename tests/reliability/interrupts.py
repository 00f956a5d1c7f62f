"""Seeded interrupt trials: `lab conduct` and `lab apply` stopped at a random point, never by timing
alone.

* conduct — the signal (SIGINT, SIGTERM or SIGKILL) follows a random step's `step.started` event
  on the `--events` stream, after a random delay of 0-250 ms; SIGINT/SIGTERM must tear down by
  themselves (exit 130, or 0 when the run had already finished), SIGKILL is followed by `lab down`.
* apply — `lab apply` has no event stream, so the trial synchronises on the fault proxy instead:
  the n-th request (n random) is held; the signal is delivered while it is held (and the request
  is released afterwards, so it reaches the server after its sender was stopped — the worst case
  for the ledger) or a random delay after releasing it. Every apply trial ends with `lab down`.

In every trial the figure is the number of objects still carrying lab's labels at the end
(goal 0), and the ledger must name every object that existed before the cleanup.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.fixture import write_platform
from tests.reliability.harness import (
    LabRun,
    Stack,
    Trial,
    conduct_args,
    finish,
    judge,
    lab_env,
    start_lab,
    tier2,
)
from tests.support.faultproxy import Hold

CONDUCT_STEPS = ["render", "lint", "plan", "clusters", "deploy", "checks", "workflow", "teardown"]
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
APPLY_REQUESTS = 22  # requests an apply of the fixture makes (measured through the proxy)
HUB_REQUESTS = 21  # requests a `lab hub bootstrap` of the fixture platform makes
HUB_INSTANCE = "lab-hub"


@dataclass(frozen=True)
class Plan:
    """What one seed chooses."""

    command: str
    signal: str
    point: str  # conduct: a step; apply: "request N (held|released)"
    delay: float

    @classmethod
    def draw(cls, command: str, seed: int) -> Plan:
        rng = random.Random(f"{command}-{seed}")
        sig = rng.choice(sorted(SIGNALS))
        delay = round(rng.uniform(0.0, 0.25), 3)
        if command == "conduct":
            return cls(command, sig, rng.choice(CONDUCT_STEPS), delay)
        requests = HUB_REQUESTS if command == "hub" else APPLY_REQUESTS
        return cls(command, sig, f"request {rng.randint(1, requests)} "
                   f"{rng.choice(['held', 'released'])}", delay)


def wait_for_step(proc: subprocess.Popen[str], events: Path, step: str, timeout: float = 60) -> bool:
    """Follow the events file until `step.started <step>`; False if the run ended first."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        if events.exists():
            lines = events.read_text().splitlines()
            for line in lines[seen:]:
                try:
                    event = json.loads(line)
                except ValueError:
                    break  # a line being written: read it again next time
                seen += 1
                if event.get("event") == "step.started" and event.get("step") == step:
                    return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)  # following a file another process appends to; there is no watch for it
    raise AssertionError(f"step {step} not reached in {timeout}s")


def _signal(proc: subprocess.Popen[str], sig: str) -> bool:
    """Deliver `sig` unless the process already ended; True if delivered."""
    if proc.poll() is not None:
        return False
    proc.send_signal(SIGNALS[sig])
    return True


def conduct_trial(workdir: Path, seed: int) -> Trial:
    plan = Plan.draw("conduct", seed)
    with tier2(workdir, ready_after=0.05) as stack:
        state = workdir / "lab"
        events = workdir / "events.jsonl"
        args = conduct_args(stack, "relia", "--events", str(events))
        proc = start_lab(args, env=lab_env(state))
        try:
            reached = wait_for_step(proc, events, plan.point)
            if reached:
                time.sleep(plan.delay)  # the random point inside the step: part of the trial's design
            sent_at = time.time()
            delivered = _signal(proc, plan.signal)
            run = finish(proc, args)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return _judge(stack, run, plan, seed, state, delivered, landed=_landed(events, sent_at))


def apply_trial(workdir: Path, seed: int) -> Trial:
    return _held_trial(workdir, seed, "apply")


def hub_trial(workdir: Path, seed: int) -> Trial:
    """`lab hub bootstrap` of a fixture platform on an existing cluster, stopped at a random
    request, then `lab hub destroy --yes`."""
    return _held_trial(workdir, seed, "hub")


def _held_trial(workdir: Path, seed: int, command: str) -> Trial:
    plan = Plan.draw(command, seed)
    nth = int(plan.point.split()[1])
    names = ("relia",) if command == "apply" else ()
    with tier2(workdir, names, proxy_seed=seed, ready_after=0.05) as stack:
        assert stack.proxy is not None
        stack.proxy.add(Hold(), nth=nth)
        state = workdir / "lab"
        kube = ["--kubeconfig", str(stack.kubeconfig)]
        if command == "apply":
            args = ["--experiments-dir", str(stack.catalog), "apply", "relia", *kube]
            cleanup = None
        else:
            platform = write_platform(workdir / "platform")
            args = ["hub", "bootstrap", "--platform", str(platform), "--provider", "existing", *kube]
            cleanup = ["hub", "destroy", "--yes", "--platform", str(platform), *kube]
        proc = start_lab(args, env=lab_env(state))
        try:
            held = _wait_held(stack, proc)
            if held and plan.point.endswith("released"):
                stack.proxy.release()
                time.sleep(plan.delay)
                delivered = _signal(proc, plan.signal)
            else:
                delivered = _signal(proc, plan.signal)
                time.sleep(plan.delay)
                stack.proxy.release()  # the held request now reaches the server
            run = finish(proc, args)
        finally:
            stack.proxy.release()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return _judge(stack, run, plan, seed, state, delivered, cleanup)


def _wait_held(stack: Stack, proc: subprocess.Popen[str]) -> bool:
    """Until the chosen request is held (True) or the apply ended without reaching it (False)."""
    assert stack.proxy is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            stack.proxy.wait_held(timeout=0.05)
            return True
        except TimeoutError:
            if proc.poll() is not None:
                return False
    raise AssertionError("the apply neither reached the held request nor ended in 60 s")


def _landed(events: Path, sent_at: float) -> str:
    """Where the conduct really was when the signal went out (the delay may carry it into a
    later step, or past the end of the run): the last step started before, or "after the run"."""
    where = "before the first step"
    for line in events.read_text().splitlines() if events.exists() else []:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if float(event.get("time", 0)) > sent_at:
            break
        if event.get("event") == "step.started":
            where = str(event.get("step"))
        elif event.get("event") == "run.finished":
            where = "after the run"
    return where


def _judge(
    stack: Stack, run: LabRun, plan: Plan, seed: int, state: Path, delivered: bool,
    cleanup: list[str] | None = None, landed: str | None = None,
) -> Trial:
    expected = _expected_exit(plan, delivered, landed)
    killed = delivered and run.exit_code < 0  # SIGKILL, or a signal that came as the process exited
    detail = "" if run.exit_code in expected else f"exit {run.exit_code} not in {sorted(expected)}"
    if run.exit_code == 130 and "interrupted" not in run.output:
        detail += " | exit 130 without saying so"
    name = f"{plan.command}:{plan.signal}@{plan.point}+{plan.delay}s" + ("" if delivered else " (ended first)")
    if delivered and landed is not None and landed != plan.point:
        name += f" (landed: {landed})"
    instance = HUB_INSTANCE if plan.command == "hub" else "relia"
    trial = judge(stack, run, name=name, seed=seed, state=state, instance=instance, killed=killed,
                  outcome=(not detail, None, detail), cleanup=cleanup)
    trial.tears_down = plan.command == "conduct"
    if plan.command == "conduct" and plan.signal != "SIGKILL" and trial.left:
        trial.detail += f" | left by the conduct itself (SIGINT/SIGTERM must tear down): {trial.left}"
        trial.clear = False
    return trial


def _expected_exit(plan: Plan, delivered: bool, landed: str | None = None) -> set[int]:
    """A process that dies of SIGINT/SIGTERM while already exiting shows -2/-15 (130/143 in a
    shell); that is fine once its work is recorded, which the ledger check verifies. A conduct
    stopped before its teardown must say 130."""
    if not delivered:
        return {0}
    if plan.signal == "SIGKILL":
        return {-signal.SIGKILL, 0}
    late = {-signal.SIGINT, -signal.SIGTERM, 0}
    if plan.command == "conduct" and (landed or plan.point) not in ("teardown", "after the run"):
        return {130}
    return {130} | late
