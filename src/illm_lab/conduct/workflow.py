"""The load workflow of an experiment, reported like a check, and the comparison metrics."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from illm_lab.base.errors import LabError
from illm_lab.catalog import Entry
from illm_lab.rendering.render import Rendering

if TYPE_CHECKING:
    from illm_lab.kube import Cluster
    from illm_lab.ledger import Run
    from illm_lab.reports.conduct import MetricResult


def run_workflow(
    run: Run,
    rendering: Rendering,
    inventory: Any,
    clusters: dict[str, Cluster],
    forward: Callable[[Any], None],
) -> Any:
    """Apply the load workflow, wait for its Job, and report it like a check."""
    from illm_lab.base.errors import ClusterError
    from illm_lab.checks.result import CheckResult
    from illm_lab.engine import readiness
    from illm_lab.engine.apply import Applier, plan
    from illm_lab.engine.wait import wait_for

    spec = rendering.experiment.spec.workflow
    assert spec is not None and rendering.workflow is not None
    cluster = clusters[spec.cluster]
    desired = plan([(rendering.workflow.name, rendering.workflow.objects)], inventory)
    Applier(
        cluster, inventory, recorder=run.recorder(spec.cluster), role=spec.cluster, on_event=forward
    ).apply(desired)
    job = next((d.ref for d in desired if d.ref.kind == "Job" and d.ref.name == spec.wait_for), None)
    started = time.monotonic()
    name = f"workflow {spec.wait_for} completes"
    if job is None:
        return CheckResult(
            name,
            "workflow",
            spec.cluster,
            False,
            f"no Job named {spec.wait_for} among the workflow's objects",
            0.0,
            1,
        )
    try:
        wait_for(
            cluster,
            job,
            readiness.job_complete,
            deadline=started + spec.timeout,
            what=f"workflow Job {job.namespace}/{job.name} to complete",
        )
        ok, message = True, f"Job {job.namespace}/{job.name} completed"
    except ClusterError as exc:
        ok, message = False, str(exc)
    tail: list[str] = []
    with contextlib.suppress(LabError):
        pods = cluster.list("v1", "Pod", job.namespace, f"job-name={job.name}")
        if pods:
            tail = cluster.pod_logs(
                str(job.namespace), str(pods[0]["metadata"]["name"]), None, 20
            ).splitlines()
    return CheckResult(
        name,
        "workflow",
        spec.cluster,
        ok,
        message,
        time.monotonic() - started,
        1,
        diagnostics=[f"  | {line}" for line in tail],
    )


def query_metrics(entry: Entry, clusters: dict[str, Cluster]) -> list[MetricResult]:
    from illm_lab.conduct.checking import query_metric

    cluster = clusters.get("target") or next(iter(clusters.values()))
    return [query_metric(cluster, metric) for metric in entry.experiment.spec.metrics]
