"""Helm charts: pinned references, the shared chart cache, `helm template` output as objects.

The public entry point for the engine is `render_charts()`; `lab charts` uses `prefetch()` and
`ChartCache`; `lab lint` uses `locate()`, `render_chart()` and `values.check()`.
"""

from __future__ import annotations

from illm_lab.charts.cache import CachedChart, ChartCache, ChartNotCached
from illm_lab.charts.reference import ChartRef
from illm_lab.charts.rendering import ChartSource, locate, render_chart, render_charts

__all__ = [
    "CachedChart",
    "ChartCache",
    "ChartNotCached",
    "ChartRef",
    "ChartSource",
    "locate",
    "render_chart",
    "render_charts",
]
