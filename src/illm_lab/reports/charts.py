"""Charts for the HTML reports, drawn by matplotlib as SVG and inlined into the page.

Every chart carries its own text alternative: the SVG has `role="img"` with a `<title>` and a
`<desc>`, and the page shows the same numbers as a table. Bars are told apart by hatch patterns
and text labels, never by colour alone. Imported only by the report and site commands: matplotlib
costs more to import than the rest of `lab` (the start-up benchmark must not see it).
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from markupsafe import escape

# status -> (fill, hatch); the status word is printed beside each bar as well
_STEP_STYLE = {
    "ok": ("#5b9bd5", ""),
    "failed": ("#d9534f", "xx"),
    "interrupted": ("#f0ad4e", "//"),
    "skipped": ("#bbbbbb", ".."),
    "running": ("#9b59b6", "--"),
}
_HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
_FILLS = ("#5b9bd5", "#ed7d31", "#70ad47", "#ffc000", "#4472c4", "#a5a5a5", "#9e480e", "#264478")


@dataclass(frozen=True)
class Chart:
    """One figure: inline SVG plus the same data as a table."""

    key: str
    title: str
    description: str
    svg: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    queries: tuple[tuple[str, str], ...] = field(default=())  # (metric, PromQL)


def format_value(value: float, unit: str = "") -> str:
    """A number as a person reads it: binary prefixes for bytes, SI prefixes for large counts."""
    tail = f" {unit}" if unit else ""
    if not math.isfinite(value):
        return f"{value}{tail}"
    if unit == "bytes":
        size = float(value)
        for prefix in ("B", "KiB", "MiB", "GiB", "TiB"):
            if abs(size) < 1024 or prefix == "TiB":
                return f"{size:.0f} B" if prefix == "B" else f"{_number(size)} {prefix}"
            size /= 1024
    if unit in ("s", "seconds") and 0 < abs(value) < 1:
        return f"{value * 1000:.3g} ms"
    for limit, divisor, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= limit:
            return f"{value / divisor:.3g}{suffix}{tail}"
    return f"{_number(value)}{tail}"


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"  # 1000, not 1e+03


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s" if value < 120 else f"{int(value // 60)} min {value % 60:.0f} s"


def timeline(steps: list[dict[str, Any]], key: str) -> Chart:
    """The steps of a run as bars on one time axis, each as long as the step took. Steps run one
    after another, so each starts where the one before it ended."""
    start, rows, bars = 0.0, [], []
    for step in steps:
        took = float(step.get("durationSeconds") or 0.0)
        status = str(step.get("status", ""))
        bars.append((str(step["name"]), start, took, status))
        rows.append((str(step["name"]), status, seconds(start), seconds(took), str(step.get("message", ""))))
        start += took
    summary = ", ".join(f"{name} {status} in {seconds(took)}" for name, _, took, status in bars)
    title = "Timeline of the run's steps"
    description = f"{len(bars)} steps over {seconds(start)}: {summary}." if bars else "No step ran."
    fig, ax = _figure(height=0.45 * max(len(bars), 1) + 1.1)
    total = max(start, 1e-3)
    for index, (_, left, took, status) in enumerate(bars):
        fill, hatch = _STEP_STYLE.get(status, ("#dddddd", ""))
        ax.barh(index, max(took, total / 500), left=left, color=fill, hatch=hatch, edgecolor="#222222",
                linewidth=0.6, label=status)
        ax.text(left + took + total / 100, index, f"{status} · {seconds(took)}", va="center", fontsize=8)
    ax.set_yticks(range(len(bars)), [b[0] for b in bars])
    ax.invert_yaxis()
    ax.set_xlim(0, total * 1.3)
    ax.set_xlabel("seconds since the run started")
    ax.grid(axis="x", linestyle=":", linewidth=0.5)
    _dedupe_legend(ax)
    return Chart(key, title, description, _svg(fig, key, title, description),
                 ("step", "status", "started at", "took", "message"), tuple(rows))


_STATE_STYLE = {
    "validated": ("#5b9bd5", ""),
    "stale": ("#9dc3e6", "\\\\"),
    "built": ("#ffc000", "//"),
    "planned": ("#dddddd", ".."),
    "missing": ("#d9534f", "xx"),
}


def progress(groups: list[tuple[str, dict[str, int]]], key: str) -> Chart:
    """Experiments per phase by state, stacked: validated, stale, built, planned, missing."""
    states = tuple(_STATE_STYLE)
    title = "Experiments per phase by state"
    parts = [f"{label}: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in states if counts.get(s))
             for label, counts in groups]
    description = "; ".join(p for p in parts if not p.endswith(": ")) or "No experiments named yet."
    rows = tuple((label, *(str(counts.get(s, 0)) for s in states)) for label, counts in groups)
    fig, ax = _figure(height=0.4 * max(len(groups), 1) + 1.3)
    for state in states:
        fill, hatch = _STATE_STYLE[state]
        widths = [counts.get(state, 0) for _, counts in groups]
        lefts = [sum(counts.get(s, 0) for s in states[: states.index(state)]) for _, counts in groups]
        bars = ax.barh(range(len(groups)), widths, left=lefts, color=fill, hatch=hatch,
                       edgecolor="#222222", linewidth=0.6, label=state)
        ax.bar_label(bars, labels=[str(w) if w else "" for w in widths], label_type="center", fontsize=8,
                     bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
    ax.set_yticks(range(len(groups)), [label for label, _ in groups])
    ax.invert_yaxis()
    ax.set_xlabel("experiments")
    _legend(ax, len(states))
    return Chart(key, title, description, _svg(fig, key, title, description), ("phase", *states), rows)


def metric_charts(metrics: list[dict[str, Any]], key: str) -> list[Chart]:
    """Comparison metrics side by side: one chart per unit, one bar per series, the PromQL of
    each metric beside it. A metric whose query failed shows its error in the table."""
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for metric in metrics:
        by_unit.setdefault(str(metric.get("unit") or ""), []).append(metric)
    return [_unit_chart(unit, group, f"{key}-m{index}")
            for index, (unit, group) in enumerate(by_unit.items())]


def _unit_chart(unit: str, group: list[dict[str, Any]], key: str) -> Chart:
    bars: list[tuple[str, float]] = []
    rows: list[tuple[str, ...]] = []
    for metric in group:
        name = str(metric["name"])
        if metric.get("error"):
            rows.append((name, "-", f"error: {metric['error']}", unit))
            continue
        values = metric.get("values") or []
        if not values:
            rows.append((name, "-", "no data", unit))
        for sample in values:
            series, value = _series(sample.get("labels") or {}), float(sample["value"])
            if math.isfinite(value):  # Prometheus answers NaN for 0/0, e.g. a rate of nothing
                bars.append((name if len(values) == 1 else f"{name} {{{series}}}", value))
            rows.append((name, series or "-", format_value(value, unit), unit))
    shown = unit or "value"
    title = f"Comparison in {shown}" if len(group) > 1 else f"{group[0]['name']} ({shown})"
    listing = "; ".join(f"{label}: {format_value(value, unit)}" for label, value in bars)
    description = f"{len(bars)} bars, {shown}: {listing}." if bars else f"No values in {shown}."
    queries = tuple((str(m["name"]), str(m.get("query", ""))) for m in group)
    columns = ("metric", "series", "value", "unit")
    if not bars:
        return Chart(key, title, description, "", columns, tuple(rows), queries)
    fig, ax = _figure(height=0.5 * len(bars) + 1.2)
    top = max((value for _, value in bars), default=0.0)
    scale, axis = _axis(unit, top)
    for index, (_, value) in enumerate(bars):
        ax.barh(index, value / scale, color=_FILLS[index % len(_FILLS)],
                hatch=_HATCHES[index % len(_HATCHES)], edgecolor="#222222", linewidth=0.6)
        ax.text((value + abs(top) / 100) / scale, index, format_value(value, unit), va="center", fontsize=8)
    ax.set_yticks(range(len(bars)), [textwrap.fill(label, 34) for label, _ in bars])
    ax.invert_yaxis()
    ax.set_xlim(min(0.0, min(v for _, v in bars) / scale), (top or 1.0) * 1.25 / scale)
    ax.set_xlabel(axis)
    ax.xaxis.set_major_formatter(_formatter())
    ax.grid(axis="x", linestyle=":", linewidth=0.5)
    return Chart(key, title, description, _svg(fig, key, title, description), columns, tuple(rows), queries)


def _series(labels: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _figure(height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, min(height, 14.0)), layout="constrained")
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _axis(unit: str, top: float) -> tuple[float, str]:
    """The divisor and label of the value axis: bytes in the binary unit of the largest bar, so
    the ticks fall on 200 MiB rather than 191 MiB."""
    if unit == "bytes":
        for power, prefix in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
            if abs(top) >= 1024**power:
                return float(1024**power), prefix
    return 1.0, unit or "value"


def _formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: format_value(value))


def _dedupe_legend(ax: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if len(unique) > 1:
        _legend(ax, len(unique), unique)


def _legend(ax: Any, columns: int, entries: dict[str, Any] | None = None) -> None:
    """Below the plot, so it never hides a bar; hatched like the bars it names."""
    where = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.18), "ncols": columns, "fontsize": 8,
             "frameon": False}
    if entries is None:
        ax.legend(**where)
    else:
        ax.legend(list(entries.values()), list(entries.keys()), **where)


def _svg(fig: Any, key: str, title: str, description: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key, "font.size": 9}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return inline(buffer.getvalue(), key, title, description)


def inline(svg: str, key: str, title: str, description: str) -> str:
    """An SVG document made fit to sit inside an HTML page beside others: no XML prolog, its ids
    prefixed with `key` (ids are page-wide), and a text alternative (`role="img"`, `<title>`,
    `<desc>`)."""
    body = re.sub(r"<metadata>.*?</metadata>\s*", "", svg[svg.index("<svg"):], flags=re.DOTALL)
    body = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', body)
    body = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{key}-{m.group(1)})", body)
    body = re.sub(r'(\bhref)="#([^"]+)"', lambda m: f'{m.group(1)}="#{key}-{m.group(2)}"', body)
    end = body.index(">") + 1
    opening = body[: end - 1] + f' role="img" class="chart" aria-labelledby="{key}-title {key}-desc">'
    alternative = (f'<title id="{key}-title">{escape(title)}</title>'
                   f'<desc id="{key}-desc">{escape(description)}</desc>')
    return opening + alternative + body[end:]
