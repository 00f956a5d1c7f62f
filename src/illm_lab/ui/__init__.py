"""The only package that prints: what the commands hand it, shown to people.

Commands call `ui.<view>(result)`; nothing below the CLI prints. A view takes the core's typed
result (a `ConductReport`, a `DeployResult`, a `DownResult`, a `LintResult`, a `HubResult`, …)
and reads its attributes, so a renamed field fails the type check rather than a table; plain
dicts are only what `-o json|yaml` prints, the result's `as_dict()`. Engine events are matched
on their classes, the run's stream on its kinds. The package is cut by audience: `console` (the
two consoles and the primitives — tables, JSON, YAML, errors), `runs` (lint, apply, diff,
conduct, down, status, trust), `tutorials` (the tutorial commands and the learner's terminal)
and `hub` (clusters and the hub). Everything a command uses is re-exported here, so
callers write `from illm_lab import ui` and never depend on the cut.
"""

from __future__ import annotations

from illm_lab.ui.console import (
    configure,
    detail,
    err,
    error,
    escape,
    info,
    json_error,
    json_out,
    lines,
    out,
    rfc3339,
    state,
    table,
    text,
    traceback_of,
    warn,
    yaml_out,
)
from illm_lab.ui.hub import (
    confirm,
    hub_destroy_question,
    hub_destroy_summary,
    hub_status,
    hub_summary,
)
from illm_lab.ui.runs import (
    ConductView,
    EventLines,
    apply_summary,
    conduct_summary,
    diff_report,
    down_summary,
    engine_event,
    lint_report,
    status_table,
    trust_list,
    trust_report,
)
from illm_lab.ui.tutorials import (
    TUTORIAL_KEYS,
    TutorialView,
    tutorial_check,
    tutorial_detail,
    tutorial_list,
)

__all__ = [
    "TUTORIAL_KEYS",
    "ConductView",
    "EventLines",
    "TutorialView",
    "apply_summary",
    "conduct_summary",
    "configure",
    "confirm",
    "detail",
    "diff_report",
    "down_summary",
    "engine_event",
    "err",
    "error",
    "escape",
    "hub_destroy_question",
    "hub_destroy_summary",
    "hub_status",
    "hub_summary",
    "info",
    "json_error",
    "json_out",
    "lines",
    "lint_report",
    "out",
    "rfc3339",
    "state",
    "status_table",
    "table",
    "text",
    "traceback_of",
    "trust_list",
    "trust_report",
    "tutorial_check",
    "tutorial_detail",
    "tutorial_list",
    "warn",
    "yaml_out",
]
