"""The result of one conduct, and its JSON shape (`lab conduct -o json`, docs/reports.md).

The shape is versioned (`schema: lab.illm.io/report/v1`); fields are only ever added. The type
lives with the reporters rather than in `conduct`: the terminal view, the JUnit writer and
`lab report` all read it, and `lab report` gets it back from a kept JSON file (`from_dict`), so
only the JSON edge deals in dicts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from illm_lab.base.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from illm_lab.base.steps import StepRecord
from illm_lab.checks.result import CheckResult

REPORT_SCHEMA = "lab.illm.io/report/v1"


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class MetricResult:
    """A comparison figure the run measured (`spec.metrics`): every sample of its instant
    query, or why there are none."""

    name: str
    query: str
    unit: str | None = None
    values: list[Sample] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "query": self.query, "unit": self.unit,
                "values": [{"labels": s.labels, "value": s.value} for s in self.values],
                **({"error": self.error} if self.error is not None else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricResult:
        return cls(str(data["name"]), str(data.get("query") or ""), data.get("unit"),
                   [Sample(dict(s.get("labels") or {}), float(s["value"])) for s in data.get("values") or []],
                   data.get("error"))


@dataclass
class ConductReport:
    experiment: str
    instance: str = ""
    run_id: str | None = None
    started_at: str = field(default_factory=lambda: datetime.datetime.now(datetime.UTC).isoformat())
    duration: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    metrics: list[MetricResult] = field(default_factory=list)
    objects: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    error_code: int | None = None
    error_detail: str | None = None  # shown with -v only (a tool's full command and output)
    interrupted: bool = False
    kept: bool = False
    dry_run: bool = False

    @property
    def passed(self) -> bool:
        return not self.error and not self.interrupted and all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        if self.interrupted:
            return "interrupted"
        if self.error:
            return "error"
        if self.dry_run:
            return "planned"
        return "passed" if self.passed else "failed"

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.error:
            return self.error_code or 3
        return EXIT_OK if self.passed else EXIT_FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "experiment": self.experiment,
            "instance": self.instance,
            "run": self.run_id,
            "verdict": self.verdict,
            "exitCode": self.exit_code,
            "startedAt": self.started_at,
            "durationSeconds": round(self.duration, 3),
            "params": self.params,
            "clusters": self.clusters,
            "plan": self.plan,
            "steps": [s.as_dict() for s in self.steps],
            "objects": self.objects,
            "checks": [c.as_dict() for c in self.checks],
            "metrics": [m.as_dict() for m in self.metrics],
            "kept": self.kept,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConductReport:
        """The report `as_dict` wrote (a kept report, `reports.store`). Fields a report of an
        older lab lacks take their defaults; the verdict and exit code are read back into the
        state that yields them (the error's detail is never kept)."""
        verdict = data.get("verdict")
        error = data.get("error")
        code = data.get("exitCode")
        return cls(
            experiment=str(data["experiment"]),
            instance=str(data.get("instance") or ""),
            run_id=data.get("run"),
            started_at=str(data.get("startedAt") or ""),
            duration=float(data.get("durationSeconds") or 0.0),
            params=dict(data.get("params") or {}),
            clusters=dict(data.get("clusters") or {}),
            plan=dict(data.get("plan") or {}),
            steps=[StepRecord.from_dict(s) for s in data.get("steps") or []],
            checks=[CheckResult.from_dict(c) for c in data.get("checks") or []],
            metrics=[MetricResult.from_dict(m) for m in data.get("metrics") or []],
            objects=dict(data.get("objects") or {}),
            error=None if error is None else str(error),
            error_code=code if error is not None and isinstance(code, int) else None,
            interrupted=verdict == "interrupted",
            kept=bool(data.get("kept")),
            dry_run=verdict == "planned",
        )
