"""`lab conduct --record`: the validation record committed next to an experiment."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

from illm_lab import __version__
from illm_lab.catalog import Entry
from illm_lab.conduct.report import ConductReport
from illm_lab.model.record import RECORD_FILE, RecordCheck, RecordCluster, ValidationRecord
from illm_lab.params import masked
from illm_lab.yamlio import dump


def params_hash(entry: Entry, params: dict[str, Any]) -> str:
    text = json.dumps(masked(entry.experiment, params), sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def write_record(entry: Entry, report: ConductReport, params: dict[str, Any]) -> None:
    record = ValidationRecord(
        experiment=entry.name,
        date=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
        lab_version=__version__,
        clusters=[
            RecordCluster(
                role=role,
                provider=info.get("provider", "existing"),
                kubernetes_version=info.get("version", "unknown"),
            )
            for role, info in sorted(report.clusters.items())
        ],
        params_hash=params_hash(entry, params),
        passed=report.passed,
        checks=[
            RecordCheck(
                name=c.name, passed=c.passed, duration_seconds=round(c.duration, 3), message=c.message[:300]
            )
            for c in report.checks
        ],
    )
    header = "# Written by `lab conduct --record`; commit it: `lab roadmap` counts validated experiments.\n"
    body = dump(record.model_dump(mode="json", by_alias=True, exclude_none=True))
    (entry.folder / RECORD_FILE).write_text(header + body, encoding="utf-8")
