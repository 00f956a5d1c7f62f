"""The foreground tutorial session: endpoints up, then one checkpoint after another.

It runs inside the conduct pipeline (after deploy and checks, before teardown) and owns nothing
that outlives it: the port-forwards belong to the run's `Forwards`, which the pipeline closes; on
Ctrl-C the KeyboardInterrupt leaves through here (saving what was reached) and the pipeline tears
down as for any conduct.

The terminal is someone else's business: the session talks to a `Learner` (the UI implements
it) — show the intro, show a step, ask for a key, show a verdict — and emits events for the
`--events` stream and tests. Between key presses the learner also waits on a loopback UDP socket:
`lab tutorial check` from a second terminal writes the progress file and sends one datagram
there, and the session re-reads the file and moves on when the current checkpoint passed.
"""

from __future__ import annotations

import contextlib
import os
import socket
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from illm_lab.base import events as ev
from illm_lab.base.errors import LabError
from illm_lab.base.yamlio import read_text
from illm_lab.checks.result import CheckResult
from illm_lab.conduct.live import LiveRun, SessionOutcome
from illm_lab.model.checks import effective_timeout
from illm_lab.model.experiment import Checkpoint, Tutorial
from illm_lab.rendering import render
from illm_lab.tutorial import progress as pr
from illm_lab.tutorial.endpoints import Endpoint, open_endpoints

INTERACTIVE_CHECK_TIMEOUT = 5.0  # a learner waits for the answer: retry briefly, not for minutes
CHECK, SKIP, HINT, QUIT, WAKE = "check", "skip", "hint", "quit", "wake"


@dataclass
class Intro:
    experiment: str
    title: str
    guide: str  # markdown
    endpoints: list[Endpoint]
    total: int
    done: int
    keep: bool


@dataclass
class Step:
    index: int  # 1-based
    total: int
    name: str
    title: str
    markdown: str
    hint: str | None = None
    final: bool = False  # after the last checkpoint: only quitting is left


@dataclass
class Verdict:
    passed: bool
    message: str
    results: list[CheckResult] = field(default_factory=list)
    by: str = "session"  # or "check": `lab tutorial check` from another terminal
    diagnostics: list[str] = field(default_factory=list)


@dataclass
class Summary:
    experiment: str
    passed: list[str]
    skipped: list[str]
    remaining: list[str]
    quit: bool
    kept: bool


class Learner(Protocol):
    """The terminal side of a session (`ui.TutorialView`; a script in tests)."""

    def attached(self) -> AbstractContextManager[None]:
        """Held for the whole session (the UI takes the terminal over and gives it back)."""
        ...

    def welcome(self, intro: Intro) -> None: ...

    def show(self, step: Step) -> None: ...

    def ask(self, wake: socket.socket) -> str:
        """Block until the learner presses a key (check, skip, hint, quit) or `wake` is readable
        (returns "wake"); Ctrl-C raises KeyboardInterrupt."""
        ...

    def checking(self, step: Step) -> AbstractContextManager[None]: ...

    def verdict(self, step: Step, verdict: Verdict) -> None: ...

    def hint(self, step: Step) -> None: ...

    def finished(self, summary: Summary) -> None: ...


def remember_request(
    store: pr.ProgressStore, live: LiveRun, *, sets: list[str], values: list[str], resume: bool
) -> None:
    """Start (or continue) the saved progress: where the clusters are and which params were
    given, so `lab tutorial check` and `resume` need no flags."""
    declared = live.entry.experiment.spec.params

    def secret(item: str) -> bool:
        param = declared.get(item.partition("=")[0].split(".")[0])
        return param is not None and param.secret

    safe_sets = [s for s in sets if not secret(s)]
    with store.update(live.inventory.instance, live.entry.name) as progress:
        if not resume:
            progress.checkpoints.clear()
            progress.started = pr.now()
        progress.targets = {
            role: {"kubeconfig": str(t.kubeconfig) if t.kubeconfig else None, "context": t.context}
            for role, t in live.targets.items()
        }
        progress.sets, progress.values = safe_sets, list(values)


def run_session(
    live: LiveRun,
    learner: Learner,
    *,
    store: pr.ProgressStore | None = None,
    resume: bool = False,
    sets: list[str] | None = None,
    values: list[str] | None = None,
) -> SessionOutcome:
    store = store or pr.ProgressStore()
    tutorial = live.entry.experiment.spec.tutorial
    assert tutorial is not None
    remember_request(store, live, sets=sets or [], values=values or [], resume=resume)
    return _Session(live, learner, store, tutorial).run()


class _Session:
    def __init__(self, live: LiveRun, learner: Learner, store: pr.ProgressStore, tutorial: Tutorial) -> None:
        self.live = live
        self.learner = learner
        self.store = store
        self.tutorial = tutorial
        self.instance = live.inventory.instance
        self.name = live.entry.name
        self.order = [cp.name for cp in tutorial.checkpoints]
        self.by_name = {cp.name: cp for cp in tutorial.checkpoints}
        self.results: dict[str, list[CheckResult]] = {}
        self.env = render.make_environment(live.entry.folder)
        self.context: dict[str, Any] = {}

    def emit(self, kind: str, **data: Any) -> None:
        self.live.emit(ev.Event(kind, self.name, data))

    def run(self) -> SessionOutcome:
        wake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            wake.bind(("127.0.0.1", 0))
            with self.store.update(self.instance, self.name) as progress:
                progress.session = {"pid": os.getpid(), "notify": wake.getsockname()[1]}
            with self.learner.attached():
                self._welcome()
                quit_ = self._walk(wake)
        finally:
            with contextlib.suppress(LabError), self.store.update(self.instance, self.name) as progress:
                progress.session = None
            wake.close()
        return self._finish(quit_)

    def _welcome(self) -> None:
        endpoints = open_endpoints(self.tutorial, self.live.clusters, self.live.forwards)
        views = {e.name: e.view for e in endpoints if e.view is not None}
        self.context = render.instructions_context(self.live.entry.experiment, self.live.params, views)
        progress = self._load()
        done = [n for n in self.order if progress.state(n) in pr.DONE]
        self.emit(ev.TUTORIAL_STARTED, checkpoints=self.order, endpoints=[e.public() for e in endpoints],
                  done=done)
        self.learner.welcome(Intro(
            experiment=self.name, title=self.live.entry.experiment.metadata.title, guide=self._guide(),
            endpoints=endpoints, total=len(self.order), done=len(done), keep=self.live.keep,
        ))

    def _walk(self, wake: socket.socket) -> bool:
        """Checkpoint after checkpoint; True if the learner quit before all were done. When all
        are done (or there are none) the endpoints stay open until the learner quits: finishing
        the last checkpoint must not tear down what they may still want to look at."""
        while not self.live.stop.is_set():
            current = self._load().first_open(self.order)
            if current is None:
                self._explore(wake)
                return False
            step = self._step(self.by_name[current])
            self.emit(ev.CHECKPOINT_STARTED, checkpoint=current, index=step.index, title=step.title)
            self.learner.show(step)
            while True:
                action = self.learner.ask(wake)
                if action == QUIT:
                    return True
                if action == HINT:
                    self.learner.hint(step)
                elif action == SKIP:
                    self._record(current, pr.SKIPPED, by="session", message="skipped")
                    self.emit(ev.CHECKPOINT_FINISHED, checkpoint=current, state=pr.SKIPPED, by="session")
                    break
                elif action == CHECK:
                    if self._check(step):
                        break
                elif action == WAKE and self._woken(wake, step):
                    break
        return True

    def _explore(self, wake: socket.socket) -> None:
        if self.order:
            text = "Every checkpoint is done. The services stay open: look around as long as you like."
        else:
            text = "This tutorial has no checkpoints: explore the services above as long as you like."
        step = Step(len(self.order), len(self.order), "", "Explore", text, final=True)
        self.learner.show(step)
        while self.learner.ask(wake) != QUIT:
            continue

    def _check(self, step: Step) -> bool:
        cp = self.by_name[step.name]
        with self.learner.checking(step):
            results = [
                self.live.checks.run(check, cp.name, timeout=self._timeout(check)) for check in cp.checks
            ]
        passed = all(r.passed for r in results)
        failed = [r for r in results if not r.passed]
        message = "; ".join(r.message for r in failed) if failed else f"{len(results)} checks passed"
        diagnostics = [line for r in failed for line in r.diagnostics]
        self._record(cp.name, pr.PASSED if passed else pr.FAILED, by="session", message=message,
                     diagnostics=diagnostics)
        if passed:
            self.results[cp.name] = results
        self.emit(ev.CHECKPOINT_FINISHED, checkpoint=cp.name, state=pr.PASSED if passed else pr.FAILED,
                  by="session", checks=[r.as_dict() for r in results])
        self.learner.verdict(step, Verdict(passed, message, results, diagnostics=diagnostics))
        return passed

    def _woken(self, wake: socket.socket, step: Step) -> bool:
        """`lab tutorial check` wrote the progress: show what it found; True to move on."""
        with contextlib.suppress(BlockingIOError, OSError):
            while True:
                wake.recv(64, socket.MSG_DONTWAIT)
        saved = self._load().checkpoints.get(step.name) or {}
        if saved.get("by") != "check" or saved.get("seen"):
            return self._load().first_open(self.order) != step.name
        self._mark_seen(step.name)
        state = saved.get("state")
        passed = state in pr.DONE
        verdict = Verdict(passed, str(saved.get("message") or state), by="check",
                          diagnostics=list(saved.get("diagnostics") or []))
        self.emit(ev.CHECKPOINT_FINISHED, checkpoint=step.name, state=state, by="check")
        self.learner.verdict(step, verdict)
        return passed or self._load().first_open(self.order) != step.name

    def _timeout(self, check: Any) -> float:
        limit = self.live.check_timeout or INTERACTIVE_CHECK_TIMEOUT
        return min(effective_timeout(check), limit)

    def _step(self, cp: Checkpoint) -> Step:
        index = self.order.index(cp.name)
        where = f"{self.live.entry.manifest}: checkpoint {cp.name}"
        text = render.render_text(self.env, cp.instructions, self.context, where=where)
        hint = render.render_text(self.env, cp.hint, self.context, where=where) if cp.hint else None
        return Step(index + 1, len(self.order), cp.name, cp.title, text, hint)

    def _guide(self) -> str:
        path = self.live.entry.folder / self.tutorial.guide
        try:
            return read_text(path, what="tutorial guide")
        except LabError:
            return f"(guide {self.tutorial.guide} not found)"

    def _load(self) -> pr.Progress:
        progress = self.store.load(self.instance)
        return progress if progress is not None else pr.Progress(self.name, self.instance)

    def _record(self, checkpoint: str, state: str, **details: Any) -> None:
        with self.store.update(self.instance, self.name) as progress:
            progress.record(checkpoint, state, **details)

    def _mark_seen(self, checkpoint: str) -> None:
        with self.store.update(self.instance, self.name) as progress:
            if checkpoint in progress.checkpoints:
                progress.checkpoints[checkpoint]["seen"] = True

    def _finish(self, quit_: bool) -> SessionOutcome:
        progress = self._load()
        passed = [n for n in self.order if progress.state(n) == pr.PASSED]
        skipped = [n for n in self.order if progress.state(n) == pr.SKIPPED]
        remaining = [n for n in self.order if progress.state(n) not in pr.DONE]
        self.emit(ev.TUTORIAL_FINISHED, passed=passed, skipped=skipped, remaining=remaining, quit=quit_)
        self.learner.finished(Summary(self.name, passed, skipped, remaining, quit_, self.live.keep))
        return SessionOutcome(self._report(progress), _summary(passed, skipped, remaining))

    def _report(self, progress: pr.Progress) -> list[CheckResult]:
        """Checkpoints reached, for the report: the checks that passed here, one entry for a
        checkpoint passed elsewhere (another terminal, an earlier session) or skipped. Failed
        attempts are part of learning and stay out; unreached checkpoints are not results."""
        out: list[CheckResult] = []
        for name in self.order:
            state = progress.state(name)
            if name in self.results and state == pr.PASSED:
                out += self.results[name]
            elif state in pr.DONE:
                saved = progress.checkpoints[name]
                elsewhere = "lab tutorial check" if saved.get("by") == "check" else "an earlier session"
                out.append(CheckResult(
                    name=self.by_name[name].title, type="checkpoint", cluster="-", passed=True,
                    message="skipped by the learner" if state == pr.SKIPPED else f"passed in {elsewhere}",
                    duration=0.0, attempts=0, checkpoint=name, skipped=state == pr.SKIPPED,
                ))
        return out


def _summary(passed: list[str], skipped: list[str], remaining: list[str]) -> str:
    total = len(passed) + len(skipped) + len(remaining)
    parts = [f"{len(passed)}/{total} checkpoints passed"]
    if skipped:
        parts.append(f"{len(skipped)} skipped")
    if remaining:
        parts.append(f"{len(remaining)} left")
    return ", ".join(parts)

