"""End-of-life components: the dated table `eol.yaml` and the lint warnings it gives.

An experiment that pins a chart deploying a component its project has declared end of life,
retired or unmaintained teaches something nobody should start with any more. `lab lint` says
so as a *warning* — an experiment may keep such a component on purpose (a comparison with the
old way, a migration exercise), so it never blocks a run. The table is data, not code: each row
names the component, the charts that deploy it, the date and the source that says so, and what
the project points to instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from illm_lab.base.errors import InputError
from illm_lab.base.yamlio import load_file

if TYPE_CHECKING:
    from illm_lab.authoring.lint import Severity
    from illm_lab.catalog import Entry

TABLE = Path(__file__).with_name("eol.yaml")
STATUSES = ("end of life", "retired", "unmaintained")

_SINCE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_NUMBERS = re.compile(r"\d+")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


@dataclass(frozen=True)
class ChartMatch:
    chart: str
    repo: str | None = None  # a part of the repository URL or OCI reference that must match
    below: str | None = None  # only versions below this one
    since: str | None = None  # only versions from this one on (`from` in the table)

    def matches(self, chart: str, location: str, version: str) -> bool:
        if chart != self.chart or (self.repo is not None and self.repo not in location):
            return False
        key = version_key(version)
        if self.since is not None and key < version_key(self.since):
            return False
        return self.below is None or key < version_key(self.below)


@dataclass(frozen=True)
class Component:
    component: str
    charts: tuple[ChartMatch, ...]
    status: str
    since: str
    source: str
    instead: str

    @property
    def since_date(self) -> date:
        """The first day the status holds (the first of the month when only the month is known)."""
        found = _SINCE.match(self.since)
        assert found is not None  # checked when the table was read
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3) or 1))

    def describe(self, today: date) -> str:
        """`end of life since 2026-03-02`, `retired since March 2026`, or `end of life on ...`
        for a date still ahead."""
        found = _SINCE.match(self.since)
        assert found is not None
        when = self.since if found.group(3) else f"{_MONTHS[int(found.group(2)) - 1]} {found.group(1)}"
        if self.since_date > today:
            return f"{self.status} {'on' if found.group(3) else 'in'} {when}"
        return f"{self.status} since {when}"


@dataclass(frozen=True)
class Table:
    reviewed: str
    components: tuple[Component, ...]


def version_key(version: str) -> tuple[int, ...]:
    """`v1.2.3`, `1.2.3-rc.1` -> (1, 2, 3): the release numbers only, enough to say "below 4.0.0"."""
    core = version.lstrip("vV").split("-", 1)[0].split("+", 1)[0]
    return tuple(int(n) for n in _NUMBERS.findall(core)) or (0,)


@cache
def load(path: Path = TABLE) -> Table:
    """Read and check the table; a malformed row is bad input naming its file and line."""
    doc = load_file(path, what="end-of-life table")
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        raise InputError("expected a mapping with `reviewed` and a list `components`", where=str(path))
    rows = []
    for i, row in enumerate(data["components"]):
        where = f"{path}:{doc.line_of(('components', i)) or 1}"
        rows.append(_component(row, where))
    return Table(reviewed=str(data.get("reviewed") or ""), components=tuple(rows))


def _component(row: Any, where: str) -> Component:
    if not isinstance(row, dict):
        raise InputError("a component must be a mapping", where=where)
    missing = [k for k in ("component", "charts", "status", "since", "source", "instead") if not row.get(k)]
    if missing:
        raise InputError(f"component without {', '.join(missing)}", where=where)
    if row["status"] not in STATUSES:
        raise InputError(f"status {row['status']!r} is not one of {', '.join(STATUSES)}", where=where)
    since = str(row["since"])
    found = _SINCE.match(since)
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise InputError(f"since {since!r} is not YYYY-MM-DD or YYYY-MM", where=where)
    if not str(row["source"]).startswith("https://"):
        raise InputError("source must be an https:// URL", where=where)
    charts = row["charts"]
    if not isinstance(charts, list) or not all(isinstance(c, dict) and c.get("chart") for c in charts):
        raise InputError("charts must be a list of {chart, repo?, from?, below?}", where=where)
    return Component(
        component=str(row["component"]),
        charts=tuple(
            ChartMatch(str(c["chart"]), _opt(c.get("repo")), _opt(c.get("below")), _opt(c.get("from")))
            for c in charts
        ),
        status=str(row["status"]),
        since=since,
        source=str(row["source"]),
        instead=str(row["instead"]),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def find(chart: str, location: str, version: str, table: Table | None = None) -> Component | None:
    """The end-of-life component a pinned chart deploys, if any."""
    for component in (table or load()).components:
        if any(m.matches(chart, location, version) for m in component.charts):
            return component
    return None


def warnings(entry: Entry, *, today: date | None = None, table: Table | None = None) -> list[tuple[str, str]]:
    """(where, message) for every component of the experiment whose pinned chart deploys an
    end-of-life component. Local charts (`path`) are the author's own and never match."""
    from illm_lab.charts.reference import ChartRef

    today = today or date.today()
    found = []
    for i, spec in enumerate(entry.experiment.spec.components):
        ref = ChartRef.of(spec.helm) if spec.helm is not None else None
        if ref is None:
            continue
        component = find(ref.chart, ref.location, ref.version, table)
        if component is None:
            continue
        line = entry.document.line_of(("spec", "components", i, "helm")) or 1
        found.append((
            f"{entry.manifest}:{line}",
            f"component {spec.name}: chart {ref.chart} {ref.version}: {component.component} — "
            f"{component.describe(today)} ({component.source}); instead: {component.instead}",
        ))
    return found


def check(entry: Entry, add: Callable[[Severity, str, str], None]) -> None:
    """Add a lint warning for every end-of-life component the experiment pins."""
    for where, message in warnings(entry):
        add("warning", where, message)
