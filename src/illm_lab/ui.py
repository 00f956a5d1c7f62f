"""The only module that prints.

Two rich consoles: stdout for data (tables, YAML, JSON — what a user pipes), stderr for progress,
warnings and errors. Without a TTY rich writes plain lines; `NO_COLOR` is honoured by rich itself;
`--quiet` silences everything on stderr but errors.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


@dataclass
class _State:
    quiet: bool = False
    verbose: bool = False


state = _State()
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def configure(*, quiet: bool = False, verbose: bool = False) -> None:
    state.quiet, state.verbose = quiet, verbose
    # Consoles are created at import time; re-bind the streams so test runners that swap
    # sys.stdout / sys.stderr per invocation are honoured.
    out.file = sys.stdout
    err.file = sys.stderr


def error(message: str) -> None:
    err.print(f"lab: error: {escape(message)}", highlight=False)


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


def json_out(data: Any) -> None:
    text(json.dumps(data, indent=2, sort_keys=False, default=str))


def table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    tbl = Table(title=title, show_lines=False, header_style="bold", title_justify="left")
    for col in columns:
        tbl.add_column(col, overflow="fold")
    for row in rows:
        tbl.add_row(*[escape(c) for c in row])
    out.print(tbl)


def lines(items: list[str]) -> None:
    for item in items:
        out.print(escape(item), highlight=False)


def yaml_out(data: Any) -> None:
    from illm_lab.yamlio import dump

    text(dump(data))


def lint_report(results: list[dict[str, Any]]) -> None:
    """Findings on stderr (errors always, warnings and notes unless --quiet), a verdict per
    experiment on stdout."""
    for res in results:
        for f in res["findings"]:
            line = f"{f['where']}: {f['severity']}: {f['message']}"
            if f["severity"] == "error" or not state.quiet:
                err.print(escape(line), highlight=False)
        errors = sum(f["severity"] == "error" for f in res["findings"])
        verdict = "ok" if res["ok"] else "FAILED"
        out.print(f"{res['experiment']}: {verdict} ({res['objects']} objects, {errors} errors)",
                  highlight=False)


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
            if event.kind == "step.started":
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
            elif event.kind == "message" and state.verbose:
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
        now = time.monotonic()
        label = "; ".join(f"{exp}: {step} ({now - t0:.0f}s)" for exp, (step, t0) in self._current.items())
        if self._status is None:
            self._status = err.status(escape(label))
            self._status.start()
        else:
            self._status.update(escape(label))

    def close(self) -> None:
        with self._lock:
            self._current.clear()
            self._spin()


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
    from illm_lab.yamlio import dump

    return dump(data)


def down_summary(result: dict[str, Any]) -> None:
    if result.get("message"):
        info(result["message"])
        return
    deleted = sum(1 for r in result["removed"] if r["action"] == "deleted")
    gone = len(result["removed"]) - deleted
    out.print(escape(f"instance {result['instance']}: {deleted} deleted, {gone} already gone "
                     f"(run {result['run']})"), highlight=False)


def status_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        info("no runs recorded")
        return
    table(None, ["RUN", "EXPERIMENT", "COMMAND", "STATE", "CHECKS", "DEPLOYED", "CLUSTERS"], [
        [r["run"], r["experiment"], str(r["command"]), r["state"],
         f"{r['checks']['passed']}/{r['checks']['total']}", str(r["deployed"]),
         ", ".join(f"{k}={v}" for k, v in sorted(r["clusters"].items()))]
        for r in rows
    ])
