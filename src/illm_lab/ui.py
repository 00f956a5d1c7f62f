"""The only module that prints.

Two rich consoles: stdout for data (tables, YAML, JSON — what a user pipes), stderr for progress,
warnings and errors. Without a TTY rich writes plain lines and tables are plain aligned columns;
`NO_COLOR` is honoured by rich itself; `--quiet` silences everything on stderr but errors. The
consoles are created on first use, so a command whose output is piped (`lab list | ...`) never
loads rich's console machinery (docs/benchmarks.md, P1).
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def escape(markup: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(markup)


class _LazyConsole:
    """A rich Console made on first use, bound to the current sys.stdout / sys.stderr."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            import os

            from rich.console import Console

            # NO_COLOR: no ANSI at all (rich alone would drop colours but keep bold).
            plain: dict[str, Any] = {"color_system": None} if os.environ.get("NO_COLOR") else {}
            self._console = Console(stderr=self._stderr, soft_wrap=True, highlight=False, emoji=False,
                                    **plain)
        return self._console

    def rebind(self) -> None:
        if self._console is not None:
            self._console.file = sys.stderr if self._stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        stream = sys.stderr if self._stderr else sys.stdout
        return self._get().is_terminal if self._console is not None else stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


@dataclass
class _State:
    quiet: bool = False
    verbose: bool = False


state = _State()
out = _LazyConsole(stderr=False)
err = _LazyConsole(stderr=True)


def configure(*, quiet: bool = False, verbose: bool = False) -> None:
    state.quiet, state.verbose = quiet, verbose
    # Re-bind the streams so test runners that swap sys.stdout / sys.stderr per invocation are
    # honoured by consoles made earlier in the same process.
    out.rebind()
    err.rebind()


def error(message: str) -> None:
    err.print(f"lab: error: {escape(message)}", highlight=False)


def detail(text: str) -> None:
    """What only -v shows under an error: a tool's full command line and output."""
    err.print(text, markup=False, highlight=False)


def warn(message: str) -> None:
    if not state.quiet:
        err.print(f"lab: warning: {escape(message)}", highlight=False)


def info(message: str) -> None:
    if not state.quiet:
        err.print(escape(message), highlight=False)


def traceback_of(exc: BaseException) -> None:
    """Only with -v; never with local variables (they may hold secrets)."""
    err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)


def text(data: str) -> None:
    """Raw text to stdout, exactly as given (YAML streams, JSON)."""
    sys.stdout.write(data)
    if data and not data.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()


_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|\+00:00)")


def rfc3339(data: Any) -> Any:
    """Every timestamp in `data` in the one format lab shows: RFC 3339, UTC, seconds, `Z`
    (`2026-12-03T08:39:24Z`), whichever of the ISO forms the core wrote (`+00:00`, fractions)."""
    if isinstance(data, str):
        match = _STAMP.fullmatch(data)
        return f"{match.group(1)}Z" if match else data
    if isinstance(data, dict):
        return {k: rfc3339(v) for k, v in data.items()}
    if isinstance(data, list):
        return [rfc3339(v) for v in data]
    return data


def json_out(data: Any) -> None:
    text(json.dumps(data, indent=2, sort_keys=False, default=str))


def json_error(message: str, where: str | None, exit_code: int) -> None:
    """The error of a command run with `-o json`, as JSON on stdout (the message is on stderr too)."""
    json_out({"error": {"message": message, "where": where, "exitCode": exit_code}})


def table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; plain aligned columns otherwise (pipes, CI logs, scripts)."""
    if not out.is_terminal:
        _plain_table(title, columns, rows)
        return
    from rich.table import Table

    tbl = Table(title=title, show_lines=False, header_style="bold", title_justify="left")
    for i, col in enumerate(columns):
        # Names never wrap mid-word: the first column and the name columns stay whole; the rest
        # wrap at word boundaries (fold only breaks a word longer than the column).
        whole = i == 0 or col in _NAME_COLUMNS
        tbl.add_column(col, no_wrap=whole, overflow="ellipsis" if whole else "fold")
    for row in rows:
        tbl.add_row(*[escape(c) for c in row])
    out.print(tbl)


_NAME_COLUMNS = frozenset({"NAME", "EXPERIMENT", "RUN", "CHECK", "COMPONENT", "CHECKPOINT", "SERIES"})


def _cell(value: Any) -> str:
    """A value as people read it: `-` for none, lists joined, never a Python repr."""
    if value is None or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _plain_table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    cells = [[" ".join(str(c).split()) for c in row] for row in [columns, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines_ = [title] if title else []
    lines_ += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    text("\n".join(lines_))


def lines(items: list[str]) -> None:
    for item in items:
        out.print(escape(item), highlight=False)


def yaml_out(data: Any) -> None:
    import yaml

    from illm_lab.base import yamlio

    # yamlio's dumper, with Unicode kept as characters ("—", not "\\u2014").
    text(yaml.dump(data, Dumper=yamlio._Dumper, sort_keys=False, default_flow_style=False, width=100,
                   allow_unicode=True))


def lint_report(results: list[dict[str, Any]]) -> None:
    """Findings on stderr (errors always, warnings and notes unless --quiet), a verdict per
    experiment on stdout. Notes caused by charts missing from the cache fold into one summary
    line with the command that fixes them, unless -v."""
    from illm_lab.authoring.lint import CHART_NOT_CACHED

    uncached: dict[str, set[str]] = {}  # chart -> experiments using it
    folded: set[str] = set()  # experiments with folded notes
    for res in results:
        for f in res["findings"]:
            if f.get("topic") == CHART_NOT_CACHED and not state.verbose:
                folded.add(res["experiment"])
                if f.get("subject"):
                    uncached.setdefault(f["subject"], set()).add(res["experiment"])
                continue
            line = f"{f['where']}: {f['severity']}: {f['message']}"
            if f["severity"] == "error" or not state.quiet:
                err.print(escape(line), highlight=False)
        errors = sum(f["severity"] == "error" for f in res["findings"])
        verdict = "ok" if res["ok"] else "FAILED"
        out.print(f"{res['experiment']}: {verdict} ({res['objects']} objects, {errors} errors)",
                  highlight=False)
    if uncached and not state.quiet:
        experiments = sorted(folded)
        charts = ", ".join(sorted(uncached)[:4]) + (", …" if len(uncached) > 4 else "")
        target = " ".join(experiments) if len(experiments) <= 3 else "(all)"
        fix = "lab charts pull" + (f" {target}" if len(experiments) <= 3 else "")
        err.print(escape(
            f"note: {len(uncached)} chart{'s' if len(uncached) != 1 else ''} used by "
            f"{len(experiments)} experiment{'s' if len(experiments) != 1 else ''} "
            f"{'are' if len(uncached) != 1 else 'is'} not in the chart cache ({charts}), so their "
            f"objects and the check targets inside them were not verified: `{fix}` fetches them, "
            "`lab charts import ARCHIVE…` files charts packaged elsewhere (-v lists each finding)"
        ), highlight=False)


# -- the engine: apply / diff progress and results (`lab apply`, `lab diff`) -----------------
def engine_event(event: Any) -> None:
    """One progress line on stderr per engine event (called from worker threads too)."""
    if state.quiet:
        return
    name = type(event).__name__
    if name == "PhaseStarted":
        line = f"{event.cluster}: {event.phase} ({event.objects} objects)"
    elif name == "ObjectApplied":
        line = f"  {event.ref} {event.action}"
    elif name == "ObjectDeleted":
        line = f"  {event.ref} {'deleted' if event.action == 'deleted' else 'already gone'}"
    elif name == "WaitStarted":
        line = f"  waiting for {event.ref} {event.what}"
    elif name == "WaitDone":
        line = f"  {event.ref} ready after {event.seconds:.1f}s"
    elif name == "Note":
        line = f"note: {event.message}"
    else:
        return
    err.print(escape(line), highlight=False)


def apply_summary(result: dict[str, Any]) -> None:
    counts = ", ".join(f"{n} {action}" for action, n in sorted(result["counts"].items())) or "nothing"
    out.print(
        escape(f"{result['experiment']} (instance {result['instance']}): {counts} "
               f"in {result['seconds']:.1f}s — run {result['run']}"),
        highlight=False,
    )


def diff_report(items: list[dict[str, Any]]) -> None:
    """Unified diffs on stdout, then one line per object that changes."""
    for item in items:
        if item["diff"]:
            text(item["diff"])
    for item in items:
        if item["action"] != "unchanged":
            where = f"{item['namespace']}/{item['name']}" if item.get("namespace") else item["name"]
            out.print(escape(f"{item['action']}: {item['kind']} {where}"), highlight=False)
    changed = sum(1 for i in items if i["action"] != "unchanged")
    info(f"{changed} of {len(items)} objects would change")


class EventLines:
    """`--events -`: the event stream as JSON lines on stdout, beside the view it feeds."""

    def __init__(self, view: Any) -> None:
        import threading

        self.view = view
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self._lock:
            sys.stdout.write(json.dumps(event.as_dict(), default=str) + "\n")
            sys.stdout.flush()
        self.view(event)


class ConductView:
    """Live progress of conducts, fed by the event stream (from worker threads too).

    On a terminal: a spinner naming the current step and its elapsed time, with a line per
    finished step and check printed above it. Without one (CI): the same lines, plain. With
    `-o json` the lines go to stderr only, so stdout stays valid JSON.
    """

    def __init__(self, *, json_mode: bool = False) -> None:
        import threading

        self.json_mode = json_mode
        self._lock = threading.Lock()
        self._status: Any = None
        self._current: dict[str, tuple[str, float]] = {}
        self._live = err.is_terminal and not state.quiet

    def __call__(self, event: Any) -> None:
        import time

        data, exp = event.data, event.experiment
        with self._lock:
            if event.kind == "step.started" and data["step"] == "tutorial":
                self._current.pop(exp, None)  # the tutorial session owns the terminal now
                self._spin()
            elif event.kind == "step.started":
                self._current[exp] = (data["step"], time.monotonic())
                self._spin()
            elif event.kind == "step.finished":
                mark = {"ok": "✓", "failed": "✗", "interrupted": "!"}.get(data["status"], "·")
                extra = f" — {data['message']}" if data.get("message") else ""
                self._line(f"{mark} {exp}: {data['step']} {data['status']} ({data['seconds']:.1f}s){extra}")
            elif event.kind == "check.finished":
                mark = "✓" if data["passed"] else "✗"
                where = f"{data['checkpoint']}: " if data.get("checkpoint") else ""
                self._line(f"    {mark} {where}{data['name']}: {data['message']}")
                for line in data.get("diagnostics", [])[:12] if not data["passed"] else []:
                    self._line(f"        {line}")
            elif event.kind == "message" and (state.verbose or data.get("notice")):
                self._line(f"    {data.get('message') or data.get('engine')}")
            elif event.kind == "run.finished":
                self._current.pop(exp, None)
                self._spin()

    def _line(self, text_: str) -> None:
        if not state.quiet:
            err.print(escape(text_), highlight=False)

    def _spin(self) -> None:
        if not self._live:
            return
        import time

        if not self._current:
            if self._status is not None:
                self._status.stop()
                self._status = None
            return
        if self._status is None:
            self._status = err.status(_Elapsed(self._current, time.monotonic))
            self._status.start()

    def close(self) -> None:
        with self._lock:
            self._current.clear()
            self._spin()


class _Elapsed:
    """The spinner's text, computed at every refresh so the elapsed seconds keep counting while
    a long step (a cluster create) runs without events."""

    def __init__(self, current: dict[str, tuple[str, float]], clock: Any) -> None:
        self.current = current
        self.clock = clock

    def __rich__(self) -> str:
        now = self.clock()
        return escape("; ".join(f"{exp}: {step} ({now - t0:.0f}s)"
                                for exp, (step, t0) in list(self.current.items())))


def conduct_summary(reports: list[dict[str, Any]]) -> None:
    """A table of checks per experiment, comparison metrics side by side, and the verdicts."""
    for rep in reports:
        if rep.get("plan") and rep["verdict"] == "planned":
            out.print(f"plan for {rep['experiment']} (instance {rep['instance']}):", highlight=False)
            text(_yaml(rep["plan"]))
            continue
        if rep["checks"]:
            rows = [["PASS" if c["passed"] else "FAIL", c.get("checkpoint") or "", c["name"], c["type"],
                     f"{c['durationSeconds']:.1f}s", c["message"]] for c in rep["checks"]]
            cols = ["", "CHECKPOINT", "CHECK", "TYPE", "TIME", "RESULT"]
            if not any(c.get("checkpoint") for c in rep["checks"]):
                cols, rows = cols[:1] + cols[2:], [r[:1] + r[2:] for r in rows]
            table(f"{rep['experiment']} — checks", cols, rows)
        for metric in rep.get("metrics") or []:
            unit = f" ({metric['unit']})" if metric.get("unit") else ""
            rows = [[", ".join(f"{k}={v}" for k, v in sorted(s["labels"].items())) or "-", f"{s['value']:g}"]
                    for s in metric["values"]]
            if metric.get("error"):
                rows = [["error", metric["error"]]]
            table(f"{metric['name']}{unit}", ["SERIES", "VALUE"], rows)
    for rep in reports:
        tail = f" — {rep['error']}" if rep.get("error") else ""
        kept = " (kept: lab down " + rep["experiment"] + " removes it)" if rep.get("kept") else ""
        out.print(escape(f"{rep['experiment']}: {rep['verdict'].upper()} in {rep['durationSeconds']:.1f}s"
                         f"{kept}{tail}"), highlight=False)


def _yaml(data: Any) -> str:
    from illm_lab.base.yamlio import dump

    return dump(data)


def down_summary(result: dict[str, Any]) -> None:
    if result.get("message"):
        info(result["message"])
        return
    deleted = sum(1 for r in result["removed"] if r["action"] == "deleted")
    gone = len(result["removed"]) - deleted
    out.print(escape(f"instance {result['instance']}: {deleted} deleted, {gone} already gone "
                     f"(run {result['run']})"), highlight=False)
    for cluster in result.get("clusters") or []:
        out.print(escape(f"cluster {cluster['name']} ({cluster['provider']}): {cluster['action']}"),
                  highlight=False)


def status_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        info("no runs recorded")
        return
    table(None, ["RUN", "EXPERIMENT", "COMMAND", "STATE", "CHECKS", "DEPLOYED", "CLUSTERS"], [
        [r["run"], r["experiment"] or "?", _cell(r["command"]), r["state"],
         f"{r['checks']['passed']}/{r['checks']['total']}" if r["state"] != "unreadable" else "-",
         "?" if r["deployed"] is None else str(r["deployed"]),
         ", ".join(f"{k}={_cell(v)}" for k, v in sorted(r["clusters"].items())) or "-"]
        for r in rows
    ])


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


def tutorial_list(rows: list[dict[str, Any]]) -> None:
    table(None, ["NAME", "PHASE", "CHECKPOINTS", "PROGRESS", "TITLE"], [
        [r["name"], r["phase"], str(r["checkpoints"]), r["progress"], r["title"]] for r in rows
    ])


def tutorial_detail(data: dict[str, Any]) -> None:
    from rich.markdown import Markdown

    out.rule(escape(f"{data['name']} — {data['title']} ({data['progress']})"))
    if data.get("introduction"):
        out.print(Markdown(data["introduction"]), soft_wrap=False)
    links = {"the whole guide": "guide", "the experiment's README": "readme", "the roadmap phase": "phase"}
    for label, key in links.items():
        if data.get("read", {}).get(key):
            out.print(escape(f"{label}: {data['read'][key]}"), highlight=False)
    for svc in data["services"]:
        login = f", login: {', '.join(svc['credentials'])} (from the cluster)" if svc["credentials"] else ""
        port = f" on localhost:{svc['localPort']}" if svc.get("localPort") else ""
        line = f"service {svc['name']}: {svc['service']}{svc['path']}{port}{login}"
        out.print(escape(line), highlight=False)
    for i, cp in enumerate(data["checkpoints"], 1):
        state = f" [{cp['state']}]" if cp.get("state") else ""
        out.rule(escape(f"{i}. {cp['title']} ({cp['name']}){state}"))
        out.print(Markdown(cp["instructions"]), soft_wrap=False)
        checks = ", ".join(f"{c['name']} ({c['type']})" for c in cp["checks"])
        out.print(escape(f"verified by: {checks}"), highlight=False)
        if cp.get("hint"):
            out.print(escape("hint available (press h in the session)"), highlight=False)


def tutorial_check(result: dict[str, Any]) -> None:
    mark = "✓" if result["passed"] else "✗"
    verdict = "passed" if result["passed"] else "not yet"
    out.print(escape(f"{mark} {result['title']} ({result['checkpoint']}): {verdict}"), highlight=False)
    for check in result["checks"]:
        sign = "✓" if check["passed"] else "✗"
        out.print(escape(f"    {sign} {check['name']}: {check['message']}"), highlight=False)
        for line in check.get("diagnostics", [])[:12] if not check["passed"] else []:
            out.print(escape(f"        {line}"), highlight=False)
    if result["passed"]:
        info(f"next: {result['next']}" if result.get("next") else "that was the last checkpoint")
    if result.get("sessionNotified"):
        info("the running session was told")


# -- clusters and the hub (`lab hub ...`) --------------------------------------------------------
def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (stderr); anything but y/yes is no."""
    err.print(escape(question) + " [y/N] ", end="", highlight=False)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def hub_destroy_question(planned: dict[str, Any]) -> str:
    clusters = ", ".join(f"cluster {c['name']} ({c['provider']})" for c in planned["clusters"])
    what = " and ".join(x for x in (f"{planned['objects']} platform objects" if planned["objects"] else "",
                                     clusters) if x)
    return f"Destroy the hub: delete {what or 'nothing lab knows of'}?"


def hub_summary(result: dict[str, Any]) -> None:
    """Per component what the bootstrap created, changed or left alone; then the hub."""
    rows = []
    for comp in result["components"]:
        counts = comp["counts"]
        rows.append([comp["name"], comp.get("namespace") or "", comp.get("chart") or "",
                     str(counts.get("created", 0)), str(counts.get("configured", 0)),
                     str(counts.get("unchanged", 0))])
    if rows:
        table("hub platform", ["COMPONENT", "NAMESPACE", "CHART", "CREATED", "CHANGED", "UNCHANGED"], rows)
    for comp in result["components"]:
        for line in comp["changed"][:20]:
            info(f"  {comp['name']}: {line}")
    for item in result.get("pruned") or []:
        info(f"  pruned: {item.get('kind')} {item.get('name')}")
    cluster = result.get("cluster") or {}
    name = f" {cluster['name']}" if cluster.get("name") else ""
    out.print(escape(f"hub: {cluster.get('provider')}{name}, context {cluster.get('context')}, "
                     f"Kubernetes {cluster.get('version')} — ready in {result['seconds']:.1f}s"),
              highlight=False)
    if result.get("openbao"):
        bao = result["openbao"]
        out.print(escape(f"openbao {bao['service']}: {bao['action']} (keys: {bao['keys']}, mode 0600)"),
                  highlight=False)


def hub_status(data: dict[str, Any]) -> None:
    cluster = data["cluster"]
    where = cluster.get("context") or cluster.get("name") or "?"
    if not cluster.get("reachable"):
        out.print(escape(f"hub {where}: not reachable"), highlight=False)
        return
    out.print(escape(f"hub {where} ({cluster.get('provider')}): Kubernetes {cluster.get('version')}, "
                     f"{cluster.get('message')}"), highlight=False)
    rows = [[c["name"], c.get("namespace") or "", c.get("version") or "", c["state"],
             c.get("message", "")] for c in data["components"]]
    table(None, ["COMPONENT", "NAMESPACE", "VERSION", "STATE", "DETAIL"], rows)


def hub_destroy_summary(result: dict[str, Any]) -> None:
    deleted = sum(1 for r in result["removed"] if r["action"] == "deleted")
    out.print(escape(f"hub: {deleted} platform objects deleted (run {result['run']})"), highlight=False)
    for cluster in result.get("clusters") or []:
        out.print(escape(f"cluster {cluster['name']}: {cluster['action']}"), highlight=False)
    for skipped in result.get("skipped") or []:
        info(f"  {skipped['cluster']}: {skipped['reason']}")

