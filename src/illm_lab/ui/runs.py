"""Views of the offline and deploy commands: lint findings, apply and diff progress and results,
conduct progress and reports, `lab down` and `lab status`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from illm_lab.base import events as run_events
from illm_lab.engine import events as ev
from illm_lab.ui.console import _cell, err, escape, info, out, state, table, text

if TYPE_CHECKING:  # the core's result types; their modules load only when a command runs
    from illm_lab.authoring.lint import LintResult
    from illm_lab.config.trust import TrustChange, TrustRow
    from illm_lab.deploy.deployment import DeployResult
    from illm_lab.deploy.teardown import DownResult
    from illm_lab.engine.diff import ObjectDiff
    from illm_lab.ledger.status import StatusRow
    from illm_lab.reports.conduct import ConductReport, MetricResult


def lint_report(results: list[LintResult]) -> None:
    """Findings on stderr (errors always, warnings and notes unless --quiet), a verdict per
    experiment on stdout. Notes caused by charts missing from the cache fold into one summary
    line with the command that fixes them, unless -v."""
    from illm_lab.authoring.lint import CHART_NOT_CACHED

    uncached: dict[str, set[str]] = {}  # chart -> experiments using it
    folded: set[str] = set()  # experiments with folded notes
    for res in results:
        for finding in res.findings:
            if finding.topic == CHART_NOT_CACHED and not state.verbose:
                folded.add(res.experiment)
                if finding.subject:
                    uncached.setdefault(finding.subject, set()).add(res.experiment)
                continue
            if finding.severity == "error" or not state.quiet:
                err.print(escape(str(finding)), highlight=False)
        errors = sum(f.severity == "error" for f in res.findings)
        verdict = "ok" if res.ok else "FAILED"
        out.print(f"{res.experiment}: {verdict} ({res.objects} objects, {errors} errors)",
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
def engine_event(event: ev.EngineEvent) -> None:
    """One progress line on stderr per engine event (called from worker threads too)."""
    if state.quiet:
        return
    match event:
        case ev.PhaseStarted(cluster=cluster, phase=phase, objects=objects):
            line = f"{cluster}: {phase} ({objects} objects)"
        case ev.ObjectApplied(ref=ref, action=action):
            line = f"  {ref} {action}"
        case ev.ObjectDeleted(ref=ref, action=action):
            line = f"  {ref} {'deleted' if action == 'deleted' else 'already gone'}"
        case ev.WaitStarted(ref=ref, what=what):
            line = f"  waiting for {ref} {what}"
        case ev.WaitDone(ref=ref, seconds=seconds):
            line = f"  {ref} ready after {seconds:.1f}s"
        case ev.Note(message=message):
            line = f"note: {message}"
        case _:
            return
    err.print(escape(line), highlight=False)


def apply_summary(result: DeployResult) -> None:
    counts = ", ".join(f"{n} {action}" for action, n in sorted(result.counts().items())) or "nothing"
    out.print(
        escape(f"{result.experiment} (instance {result.instance}): {counts} "
               f"in {result.seconds:.1f}s — run {result.run_id}"),
        highlight=False,
    )


def diff_report(items: list[ObjectDiff]) -> None:
    """Unified diffs on stdout, then one line per object that changes."""
    for item in items:
        if item.diff:
            text(item.diff)
    for item in items:
        if item.action != "unchanged":
            ref = item.ref
            where = f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name
            out.print(escape(f"{item.action}: {ref.kind} {where}"), highlight=False)
    changed = sum(1 for i in items if i.action != "unchanged")
    info(f"{changed} of {len(items)} objects would change")


class EventLines:
    """`--events -`: the event stream as JSON lines on stdout, beside the view it feeds."""

    def __init__(self, view: run_events.Emit) -> None:
        import threading

        self.view = view
        self._lock = threading.Lock()

    def __call__(self, event: run_events.Event) -> None:
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

    def __call__(self, event: run_events.Event) -> None:
        import time

        data, exp = event.data, event.experiment
        with self._lock:
            match event.kind:
                case run_events.STEP_STARTED if data["step"] == "tutorial":
                    self._current.pop(exp, None)  # the tutorial session owns the terminal now
                    self._spin()
                case run_events.STEP_STARTED:
                    self._current[exp] = (data["step"], time.monotonic())
                    self._spin()
                case run_events.STEP_FINISHED:
                    mark = {"ok": "✓", "failed": "✗", "interrupted": "!"}.get(data["status"], "·")
                    extra = f" — {data['message']}" if data.get("message") else ""
                    self._line(f"{mark} {exp}: {data['step']} {data['status']} "
                               f"({data['seconds']:.1f}s){extra}")
                case run_events.CHECK_FINISHED:
                    self._check(data)
                case run_events.MESSAGE if state.verbose or data.get("notice"):
                    self._line(f"    {data.get('message') or data.get('engine')}")
                case run_events.RUN_FINISHED:
                    self._current.pop(exp, None)
                    self._spin()

    def _check(self, data: dict[str, Any]) -> None:
        """A finished check: the `check.finished` event carries the check's result as JSON."""
        mark = "✓" if data["passed"] else "✗"
        where = f"{data['checkpoint']}: " if data.get("checkpoint") else ""
        self._line(f"    {mark} {where}{data['name']}: {data['message']}")
        for line in data.get("diagnostics", [])[:12] if not data["passed"] else []:
            self._line(f"        {line}")

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


def conduct_summary(reports: list[ConductReport]) -> None:
    """A table of checks per experiment, comparison metrics side by side, and the verdicts."""
    for rep in reports:
        if rep.plan and rep.verdict == "planned":
            out.print(f"plan for {rep.experiment} (instance {rep.instance}):", highlight=False)
            text(_yaml(rep.plan))
            continue
        if rep.checks:
            rows = [["PASS" if c.passed else "FAIL", c.checkpoint or "", c.name, c.type,
                     f"{c.duration:.1f}s", c.message] for c in rep.checks]
            cols = ["", "CHECKPOINT", "CHECK", "TYPE", "TIME", "RESULT"]
            if not any(c.checkpoint for c in rep.checks):
                cols, rows = cols[:1] + cols[2:], [r[:1] + r[2:] for r in rows]
            table(f"{rep.experiment} — checks", cols, rows)
        for metric in rep.metrics:
            _metric_table(metric)
    for rep in reports:
        tail = f" — {rep.error}" if rep.error else ""
        kept = " (kept: lab down " + rep.experiment + " removes it)" if rep.kept else ""
        out.print(escape(f"{rep.experiment}: {rep.verdict.upper()} in {rep.duration:.1f}s"
                         f"{kept}{tail}"), highlight=False)


def _metric_table(metric: MetricResult) -> None:
    """One comparison metric: a row per sample, or the error that left it without any."""
    unit = f" ({metric.unit})" if metric.unit else ""
    rows = [[", ".join(f"{k}={v}" for k, v in sorted(s.labels.items())) or "-", f"{s.value:g}"]
            for s in metric.values]
    if metric.error:
        rows = [["error", metric.error]]
    table(f"{metric.name}{unit}", ["SERIES", "VALUE"], rows)


def _yaml(data: Any) -> str:
    from illm_lab.base.yamlio import dump

    return dump(data)


def down_summary(result: DownResult) -> None:
    if result.removal is None:
        info(result.message or "")
        return
    removal = result.removal
    gone = len(removal.removed) - removal.deleted
    out.print(escape(f"instance {result.instance}: {removal.deleted} deleted, {gone} already gone "
                     f"(run {removal.run_id})"), highlight=False)
    for cluster in removal.clusters:
        out.print(escape(f"cluster {cluster.name} ({cluster.provider}): {cluster.action}"),
                  highlight=False)


def status_table(rows: list[StatusRow]) -> None:
    if not rows:
        info("no runs recorded")
        return
    table(None, ["RUN", "EXPERIMENT", "COMMAND", "STATE", "CHECKS", "DEPLOYED", "CLUSTERS"], [
        [r.run, r.experiment or "?", _cell(r.command), r.state,
         "-" if r.unreadable else f"{r.checks_passed}/{r.checks_total}",
         "?" if r.deployed is None else str(r.deployed),
         ", ".join(f"{k}={_cell(v)}" for k, v in sorted(r.clusters.items())) or "-"]
        for r in rows
    ])


def trust_report(done: list[TrustChange]) -> None:
    """What `lab trust` did, with every program a trusted experiment may now run."""
    for item in done:
        out.print(escape(f"{item.action}: {item.folder}"), highlight=False)
        for command in item.commands:
            out.print(escape(f"    runs {command}"), highlight=False)
        if item.action == "trusted" and not item.commands:
            out.print("    (it has no command checks today)", highlight=False)


def trust_list(rows: list[TrustRow]) -> None:
    if not rows:
        info("no experiment folder is trusted (the catalog you work in needs no trust)")
        return
    table(None, ["FOLDER", "TRUSTED", "STILL", "COMMANDS"], [
        [r.folder, r.trusted, "yes" if r.current else "no: changed since",
         "; ".join(r.commands) or "-"] for r in rows
    ])
