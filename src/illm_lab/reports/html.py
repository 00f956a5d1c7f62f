"""The conduct report as one self-contained HTML page (`lab conduct --html`, `lab report --html`).

The page needs nothing but itself: styles inline, charts as inline SVG, no script, and a
Content-Security-Policy that forbids loading anything, so it reads the same opened from disk, as
a CI artifact or mailed around. It is made from the report's JSON shape (docs/reports.md), so a
report kept by an earlier run renders exactly like a fresh one; params arrive masked.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from illm_lab.base.errors import UsageError
from illm_lab.reports.charts import Chart, metric_charts, seconds, timeline

VERDICT_MARKS = {"passed": "✔", "failed": "✘", "error": "⚠", "interrupted": "■", "planned": "○"}


@cache
def environment() -> Any:
    """The Jinja2 environment of every page (autoescaped; templates from this package)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("illm_lab.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seconds"] = seconds
    return env


@dataclass(frozen=True)
class ReportView:
    """One experiment's section of the page."""

    key: str
    data: dict[str, Any]
    mark: str
    timeline: Chart
    metrics: list[Chart]
    params: list[tuple[str, str]]
    objects: list[dict[str, str]]


def render(reports: list[dict[str, Any]], objects: dict[str, list[dict[str, Any]]] | None = None) -> str:
    """The page for `reports` (one section each); `objects` maps a run id to the objects its
    ledger run recorded (cluster, kind, namespace, name, component, state)."""
    from illm_lab import __version__

    found = objects or {}
    views = [_view(f"r{index}", report, found.get(str(report.get("run")), []))
             for index, report in enumerate(reports)]
    names = ", ".join(str(r["experiment"]) for r in reports)
    return str(environment().get_template("report.html.j2").render(
        title=f"lab report: {names}",
        reports=views,
        version=__version__,
        generated=now(),
    ))


def _view(key: str, report: dict[str, Any], objects: list[dict[str, Any]]) -> ReportView:
    verdict = str(report.get("verdict", ""))
    return ReportView(
        key=key,
        data=report,
        mark=VERDICT_MARKS.get(verdict, "?"),
        timeline=timeline(report.get("steps") or [], f"{key}-timeline"),
        metrics=metric_charts(report.get("metrics") or [], f"{key}-metrics"),
        params=list(flatten(report.get("params") or {})),
        objects=[_object(o) for o in objects],
    )


def _object(obj: dict[str, Any]) -> dict[str, str]:
    namespace = obj.get("namespace")
    return {
        "cluster": str(obj.get("cluster", "")),
        "kind": str(obj.get("kind", "")),
        "apiVersion": str(obj.get("apiVersion", "")),
        "name": f"{namespace}/{obj.get('name')}" if namespace else str(obj.get("name", "")),
        "component": str(obj.get("component") or ""),
        "state": str(obj.get("state") or ""),
    }


def flatten(params: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    """Params as dotted keys and printable values (the nested objects of `--set a.b=c`)."""
    for key, value in params.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, f"{path}.")
        elif isinstance(value, str):
            yield path, value
        else:
            yield path, json.dumps(value, default=str)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def write(path: Path, text: str, flag: str = "--html") -> None:
    """Write a page (created 0644, like the JUnit file: it is meant to be shared)."""
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write: {exc.strerror or type(exc).__name__}") from None

