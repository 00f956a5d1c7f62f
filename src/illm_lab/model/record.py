"""The validation record `lab conduct --record` writes next to an experiment.

`experiments/<name>/validation.yaml` is meant to be committed: it is the evidence behind the
roadmap's "validated" count (`lab roadmap`). An experiment counts as validated when its latest
record passed every check.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from illm_lab.model.base import Strict

RECORD_FILE = "validation.yaml"


class RecordCluster(Strict):
    role: str = "target"
    provider: str = Field(description="local, kind, talos, talos-metal, existing, ...")
    kubernetes_version: str
    context: str | None = Field(None, description="the kubeconfig context the run used")
    nodes: list[str] = Field(default_factory=list, description="node OS and runtime, one per node")


class RecordCheck(Strict):
    name: str
    passed: bool
    duration_seconds: float = 0.0
    message: str | None = None


class RecordSample(Strict):
    labels: dict[str, str] = Field(default_factory=dict)
    value: float


class RecordMetric(Strict):
    """A comparison figure the run measured (`spec.metrics`): every sample of its query."""

    name: str
    query: str
    unit: str | None = None
    values: list[RecordSample] = Field(default_factory=list)
    error: str | None = None


class ValidationRecord(Strict):
    api_version: str = "lab.illm.io/v1alpha1"
    kind: str = "ValidationRecord"
    experiment: str
    date: datetime
    lab_version: str
    clusters: list[RecordCluster] = Field(default_factory=list)
    params_hash: str = Field(description="sha256 of the resolved params, secrets masked")
    experiment_hash: str | None = Field(
        None, description="sha256 of the experiment folder's files (the record itself excluded)"
    )
    images: list[str] = Field(default_factory=list, description="every container image deployed")
    passed: bool
    checks: list[RecordCheck] = Field(default_factory=list)
    metrics: list[RecordMetric] | None = Field(None, description="comparison figures, when measured")
