"""Tier-2 fixtures for tutorials: the emulator playing the controllers of `lab-tutorial`
(tests/fixtures/tutorials), including the pod a port-forward reaches, served by the loopback demo
app; and a scripted learner standing in for the terminal."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from illm_lab.tutorial.session import Intro, Step, Summary, Verdict
from tests.support.demoapp import demo_app
from tests.support.emulator import LabEmulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tutorials"
NS = "tut"
POD = "app-7d9f-x1"


@pytest.fixture
def tut(emulator: LabEmulator) -> Iterator[LabEmulator]:
    """The emulator with `lab-tutorial`'s Deployment made ready and a ready Pod behind its
    Service (created with the Deployment, as the controllers would), served by the demo app."""
    emulator.auto_ready(["Deployment"], after=0.05)

    def make_pod(deployment: dict[str, Any]) -> None:
        if deployment["metadata"].get("namespace") != NS:
            return
        emulator.create({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": POD, "namespace": NS, "labels": {"app.kubernetes.io/name": "lab-tutorial"}},
            "spec": {"containers": [{"name": "app", "image": "lab.local/labapp:1",
                                     "ports": [{"name": "http", "containerPort": 9898}]}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        })

    emulator.on_create("Deployment", make_pod)
    with demo_app() as url:
        emulator.register_backend(NS, POD, 9898, url)
        yield emulator


def note(emulator: LabEmulator, name: str = "note", **data: str) -> None:
    """What the learner does with kubectl: a ConfigMap without lab's labels."""
    emulator.create({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": name, "namespace": NS}, "data": data or {"answer": "42"}})


Action = str | Callable[["ScriptedLearner", Step, socket.socket], str]


class ScriptedLearner:
    """A `Learner` that answers each `ask` from a script: an action name, or a callable that
    does something (as a learner at a second terminal would) and returns one."""

    def __init__(self, script: list[Action]) -> None:
        self.script = list(script)
        self.intro: Intro | None = None
        self.shown: list[str] = []
        self.verdicts: list[tuple[str, Verdict]] = []
        self.hints: list[str | None] = []
        self.summary: Summary | None = None
        self.threads_at_ask: list[str] = []

    def attached(self) -> AbstractContextManager[None]:
        return nullcontext()

    def welcome(self, intro: Intro) -> None:
        self.intro = intro

    def show(self, step: Step) -> None:
        self.shown.append(step.name)

    def ask(self, wake: socket.socket) -> str:
        self.threads_at_ask = [t.name for t in threading.enumerate()]
        if not self.script:
            raise AssertionError(f"the script ran out at {self.shown[-1]}")
        action = self.script.pop(0)
        if callable(action):
            return action(self, Step(0, 0, self.shown[-1], "", ""), wake)
        if action == "interrupt":
            raise KeyboardInterrupt
        return action

    def checking(self, step: Step) -> AbstractContextManager[None]:
        return nullcontext()

    def verdict(self, step: Step, verdict: Verdict) -> None:
        self.verdicts.append((step.name, verdict))

    def hint(self, step: Step) -> None:
        self.hints.append(step.hint)

    def finished(self, summary: Summary) -> None:
        self.summary = summary


def wait_for_wake(wake: socket.socket, timeout: float = 30.0) -> str:
    """Block on the session's wake socket as the terminal would (no key pressed meanwhile)."""
    ready, _, _ = select.select([wake], [], [], timeout)
    assert ready, "the session was not notified"
    return "wake"
