"""`lab charts pull`: filling the cache ahead of time, so later runs and `lab lint` work offline.

A failed pull does not stop the others: the caller gets one result per chart and decides the
exit code. Progress is reported through a callback, never printed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from illm_lab.base.errors import LabError
from illm_lab.catalog import Entry
from illm_lab.charts.cache import ChartCache
from illm_lab.charts.reference import ChartRef

Status = Literal["pulling", "pulled", "cached", "local", "failed"]


@dataclass
class PullResult:
    experiment: str
    component: str
    chart: str
    status: Status
    digest: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "component": self.component, "chart": self.chart,
                "status": self.status, "digest": self.digest, "error": self.error}


def prefetch(
    entries: list[Entry],
    *,
    cache: ChartCache | None = None,
    progress: Callable[[PullResult], None] | None = None,
) -> list[PullResult]:
    """Pull every pinned chart the experiments use into the cache (each reference once)."""
    cache = cache if cache is not None else ChartCache()
    notify = progress or (lambda _result: None)
    results: list[PullResult] = []
    for entry in entries:
        for comp in entry.experiment.spec.components:
            if comp.helm is None:
                continue
            ref = ChartRef.of(comp.helm)
            if ref is None:
                results.append(PullResult(entry.name, comp.name, str(comp.helm.path),
                                          "local"))
                notify(results[-1])
                continue
            result = PullResult(entry.name, comp.name, str(ref), "pulling")
            if cache.lookup(ref) is None:
                notify(result)
            try:
                cached, pulled = cache.fetch(ref)
            except LabError as exc:
                result.status, result.error = "failed", str(exc)
            else:
                result.status, result.digest = ("pulled" if pulled else "cached"), cached.digest
            results.append(result)
            notify(result)
    return results
