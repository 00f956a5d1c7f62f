"""The outcome of one check, as recorded in the ledger and the reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """One attempt of a probe."""

    ok: bool
    message: str
    details: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    name: str
    type: str
    cluster: str
    passed: bool
    message: str
    duration: float
    attempts: int
    diagnostics: list[str] = field(default_factory=list)
    checkpoint: str | None = None
    skipped: bool = False  # a tutorial checkpoint the learner skipped (JUnit <skipped/>)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "cluster": self.cluster,
            "passed": self.passed,
            "message": self.message,
            "durationSeconds": round(self.duration, 3),
            "attempts": self.attempts,
            "diagnostics": list(self.diagnostics),
            **({"checkpoint": self.checkpoint} if self.checkpoint else {}),
            **({"skipped": True} if self.skipped else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """The result `as_dict` wrote (a kept report); what an older report lacks is empty."""
        return cls(
            name=str(data["name"]),
            type=str(data.get("type") or ""),
            cluster=str(data.get("cluster") or ""),
            passed=bool(data.get("passed")),
            message=str(data.get("message") or ""),
            duration=float(data.get("durationSeconds") or 0.0),
            attempts=int(data.get("attempts") or 0),
            diagnostics=[str(d) for d in data.get("diagnostics") or []],
            checkpoint=data.get("checkpoint") or None,
            skipped=bool(data.get("skipped")),
        )
