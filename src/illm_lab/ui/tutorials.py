"""Views of tutorials: `lab tutorial list|show|check` and the learner's terminal in a session."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from illm_lab.ui.console import err, escape, info, out, table

if TYPE_CHECKING:  # the core's result types; their modules load only when a command runs
    from illm_lab.tutorial.listing import TutorialDetail, TutorialRow
    from illm_lab.tutorial.verify import CheckOutcome

# -- tutorials (`lab tutorial ...` and the session) -----------------------------------------------
TUTORIAL_KEYS = {"\r": "check", "\n": "check", " ": "check", "s": "skip", "h": "hint", "q": "quit"}


class TutorialView:
    """The learner's terminal during a tutorial session (`tutorial.session.Learner`).

    Everything goes to stderr (stdout stays for the final report). Keys are read one at a time
    with the terminal in cbreak mode (no echo, no line buffering; Ctrl-C still interrupts) for as
    long as the session runs; the terminal is restored when it ends, also on Ctrl-C. Keys typed
    while a check runs are dropped.
    """

    def welcome(self, intro: Any) -> None:
        from rich.markdown import Markdown
        from rich.table import Table

        err.rule(escape(f"{intro.title} — tutorial"))
        if intro.guide.strip():
            err.print(Markdown(intro.guide), soft_wrap=False)
        if intro.endpoints:
            tbl = Table(title="Open these while you follow along", title_justify="left", header_style="bold")
            for col in ("NAME", "URL", "HOW", "LOGIN"):
                tbl.add_column(col, overflow="fold")
            for e in intro.endpoints:
                login = "  ".join(f"{label}: {value}" for label, value in sorted(e.credentials.items()))
                how = e.via or "unavailable"
                if e.note:
                    how += f" ({e.note})"
                tbl.add_row(escape(e.name), escape(e.url or "-"), escape(how), escape(login or "-"))
            err.print(tbl)
            for e in intro.endpoints:
                if e.error:
                    err.print(escape(f"  ! {e.name}: {e.error}"), highlight=False)
        done = f" ({intro.done} of {intro.total} done earlier)" if intro.done else ""
        end = "kept when you quit (--keep)" if intro.keep else "torn down when you quit (--keep keeps it)"
        err.print(escape(f"{intro.total} checkpoints{done}; the deployment is {end}."), highlight=False)

    def show(self, step: Any) -> None:
        from rich.markdown import Markdown

        if step.final:
            err.rule(escape(step.title))
            err.print(Markdown(step.markdown), soft_wrap=False)
            err.print("[q] finish", highlight=False, markup=False)
            return
        err.rule(escape(f"Checkpoint {step.index}/{step.total} · {step.title}"))
        err.print(Markdown(step.markdown), soft_wrap=False)
        err.print(
            "[Enter] check   [s] skip   [h] hint   [q] quit"
            "      (or from another terminal: lab tutorial check)",
            highlight=False, markup=False,
        )

    @contextlib.contextmanager
    def attached(self) -> Iterator[None]:
        """cbreak mode for the whole session (keys arrive one by one, unechoed; Ctrl-C still
        interrupts), restored on the way out whatever happens."""
        import termios
        import tty

        fd = sys.stdin.fileno()
        try:
            saved: list[Any] | None = termios.tcgetattr(fd)
        except termios.error:
            saved = None
        if saved is not None:
            tty.setcbreak(fd)
        try:
            yield
        finally:
            if saved is not None:
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    def ask(self, wake: Any) -> str:
        import os
        import select

        fd = sys.stdin.fileno()
        while True:
            ready, _, _ = select.select([fd, wake], [], [])
            if wake in ready:
                return "wake"
            data = os.read(fd, 64)
            if not data:
                return "quit"  # stdin closed
            for char in data.decode("utf-8", "ignore"):
                action = TUTORIAL_KEYS.get(char.lower())
                if action:
                    return action

    @contextlib.contextmanager
    def checking(self, step: Any) -> Iterator[None]:
        with err.status(escape(f"checking {step.title} …")):
            yield
        import termios

        with contextlib.suppress(termios.error, OSError):
            termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)  # keys typed meanwhile do not count

    def verdict(self, step: Any, verdict: Any) -> None:
        where = " (lab tutorial check)" if verdict.by == "check" else ""
        if verdict.passed:
            err.print(escape(f"✓ {step.title}: passed{where}"), highlight=False)
        else:
            detail = "" if verdict.results else f" — {verdict.message}"  # else: one line per check below
            err.print(escape(f"✗ {step.title}: not yet{where}{detail}"), highlight=False)
        for result in verdict.results:
            mark = "✓" if result.passed else "✗"
            err.print(escape(f"    {mark} {result.name}: {result.message}"), highlight=False)
        for line in verdict.diagnostics[:12]:
            err.print(escape(f"        {line}"), highlight=False)
        if not verdict.passed:
            err.print("  Try again with Enter, ask for a hint with h, or skip with s.", highlight=False)

    def hint(self, step: Any) -> None:
        from rich.markdown import Markdown

        if step.hint:
            err.print(Markdown("**Hint:** " + step.hint), soft_wrap=False)
        else:
            err.print("No hint for this checkpoint: the instructions are all there is.", highlight=False)

    def finished(self, summary: Any) -> None:
        total = len(summary.passed) + len(summary.skipped) + len(summary.remaining)
        err.rule(escape(f"{summary.experiment}: {len(summary.passed)}/{total} checkpoints passed"))
        if summary.remaining:
            later = (f"lab tutorial resume {summary.experiment}" if summary.kept
                     else f"lab tutorial resume {summary.experiment} (it deploys again)")
            left = len(summary.remaining)
            err.print(escape(f"{left} to go — continue later with: {later}"), highlight=False)
        elif summary.skipped:
            err.print(escape(f"Skipped: {', '.join(summary.skipped)}"), highlight=False)
        else:
            err.print("All checkpoints passed. Well done!", highlight=False)


def tutorial_list(rows: list[TutorialRow]) -> None:
    table(None, ["NAME", "PHASE", "CHECKPOINTS", "PROGRESS", "TITLE"], [
        [r.name, r.phase, str(r.checkpoints), r.progress, r.title] for r in rows
    ])


def tutorial_detail(data: TutorialDetail) -> None:
    from rich.markdown import Markdown

    out.rule(escape(f"{data.name} — {data.title} ({data.progress})"))
    if data.introduction:
        out.print(Markdown(data.introduction), soft_wrap=False)
    links = {"the whole guide": "guide", "the experiment's README": "readme", "the roadmap phase": "phase"}
    for label, key in links.items():
        if data.read.get(key):
            out.print(escape(f"{label}: {data.read[key]}"), highlight=False)
    for svc in data.services:
        login = f", login: {', '.join(svc.credentials)} (from the cluster)" if svc.credentials else ""
        port = f" on localhost:{svc.local_port}" if svc.local_port else ""
        line = f"service {svc.name}: {svc.service}{svc.path}{port}{login}"
        out.print(escape(line), highlight=False)
    for i, cp in enumerate(data.checkpoints, 1):
        state = f" [{cp.state}]" if cp.state else ""
        out.rule(escape(f"{i}. {cp.title} ({cp.name}){state}"))
        out.print(Markdown(cp.instructions), soft_wrap=False)
        checks = ", ".join(f"{name} ({type_})" for name, type_ in cp.checks)
        out.print(escape(f"verified by: {checks}"), highlight=False)
        if cp.hint:
            out.print(escape("hint available (press h in the session)"), highlight=False)


def tutorial_check(result: CheckOutcome) -> None:
    mark = "✓" if result.passed else "✗"
    verdict = "passed" if result.passed else "not yet"
    out.print(escape(f"{mark} {result.title} ({result.checkpoint}): {verdict}"), highlight=False)
    for check in result.results:
        sign = "✓" if check.passed else "✗"
        out.print(escape(f"    {sign} {check.name}: {check.message}"), highlight=False)
        for line in check.diagnostics[:12] if not check.passed else []:
            out.print(escape(f"        {line}"), highlight=False)
    if result.passed:
        info(f"next: {result.next}" if result.next else "that was the last checkpoint")
    if result.session_notified:
        info("the running session was told")
