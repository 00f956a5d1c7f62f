"""`lab conduct --record`: the validation record committed next to an experiment."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

from illm_lab import __version__
from illm_lab.base.yamlio import dump
from illm_lab.catalog import Entry, fingerprint
from illm_lab.catalog.params import masked
from illm_lab.model.record import RECORD_FILE, RecordCheck, RecordCluster, RecordMetric, ValidationRecord
from illm_lab.reports.conduct import ConductReport


def params_hash(entry: Entry, params: dict[str, Any]) -> str:
    text = json.dumps(masked(entry.experiment, params), sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def experiment_hash(entry: Entry) -> str:
    """sha256 over the experiment folder's files (`catalog.fingerprint`), so a record says which
    version of the experiment it validated; `lab roadmap` calls a record of another one stale."""
    return fingerprint.experiment_hash(entry.folder)


def images_of(objects: list[dict[str, Any]]) -> list[str]:
    """Every container image of the objects' pod templates (workloads, Jobs, Pods), sorted."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("containers", "initContainers", "ephemeralContainers"):
                for container in node.get(key) or []:
                    if isinstance(container, dict) and container.get("image"):
                        found.add(str(container["image"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(objects)
    return sorted(found)


def write_record(entry: Entry, report: ConductReport, params: dict[str, Any],
                 objects: list[dict[str, Any]] | None = None) -> None:
    record = ValidationRecord(
        experiment=entry.name,
        date=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
        lab_version=__version__,
        clusters=[
            RecordCluster(
                role=role,
                provider=info.get("provider", "existing"),
                kubernetes_version=info.get("version", "unknown"),
                context=info.get("context"),
                nodes=[n for n in info.get("nodes", "").split("; ") if n],
            )
            for role, info in sorted(report.clusters.items())
        ],
        params_hash=params_hash(entry, params),
        experiment_hash=experiment_hash(entry),
        images=images_of(objects or []),
        passed=report.passed,
        checks=[
            RecordCheck(
                name=c.name, passed=c.passed, duration_seconds=round(c.duration, 3), message=c.message[:300]
            )
            for c in report.checks
        ],
        metrics=[RecordMetric.model_validate(m.as_dict()) for m in report.metrics] or None,
    )
    header = "# Written by `lab conduct --record`; commit it: `lab roadmap` counts validated experiments.\n"
    body = dump(record.model_dump(mode="json", by_alias=True, exclude_none=True))
    (entry.folder / RECORD_FILE).write_text(header + body, encoding="utf-8")
