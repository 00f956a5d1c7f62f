"""Running an experiment's checks against its live clusters.

Probes read through the engine's `Cluster`; readiness uses the engine's rules (the same ones the
deploy waits use), so a `ready` check and a deploy wait never disagree. A `job` check runs a Job
that carries the instance's inventory labels and is recorded in the ledger before it is created
(and deleted after), so even a killed run leaves nothing `lab down` cannot find. `command`
checks run a local program without a shell through the tools adapter.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from illm_lab.base.errors import ClusterError, InputError
from illm_lab.base.identity import ObjectRef
from illm_lab.checks import probes
from illm_lab.checks.result import CheckResult, Outcome
from illm_lab.checks.runner import run_check
from illm_lab.engine import readiness
from illm_lab.engine.inventory import Inventory
from illm_lab.ledger import Run
from illm_lab.model import checks as m
from illm_lab.model.experiment import Experiment, Metric
from illm_lab.reports.conduct import MetricResult, Sample

if TYPE_CHECKING:
    from illm_lab.conduct.forwards import Forwards
    from illm_lab.kube import Cluster

CHECKS_COMPONENT = "lab-checks"


def readiness_of(obj: dict[str, Any]) -> tuple[bool, str]:
    rule = readiness.for_kind(str(obj.get("kind", "")))
    if rule is None:
        return True, "exists"
    verdict = rule(obj)
    if verdict.failed:
        return False, f"{verdict.status} ({verdict.failed})"
    return verdict.done, verdict.status


def all_checks(experiment: Experiment, *, with_checkpoints: bool) -> list[tuple[m.AnyCheck, str | None]]:
    """The experiment's checks, then (non-interactive) its tutorial checkpoints' checks."""
    out: list[tuple[m.AnyCheck, str | None]] = [(c, None) for c in experiment.spec.checks]
    tutorial = experiment.spec.tutorial
    if with_checkpoints and tutorial:
        for cp in tutorial.checkpoints:
            out += [(c, cp.name) for c in cp.checks]
    return out


CHECK_WORKERS = 8


def run_concurrently(
    session: CheckSession, checks: Sequence[m.AnyCheck], *, workers: int = CHECK_WORKERS
) -> Iterator[CheckResult]:
    """Run independent `checks` at the same time (at most `workers` at once) and yield their
    results in the order the checks are declared, each as soon as it and those before it are
    done. Checks only read the clusters (a `job` check creates a Job of its own name), so their
    order cannot change their outcome; a tutorial checkpoint's checks, which follow its
    solution, are not independent and are run one by one by the caller."""
    if len(checks) <= 1 or workers <= 1:
        for check in checks:
            yield session.run(check)
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(checks)),
                            thread_name_prefix="lab-check") as pool:
        futures = [pool.submit(session.run, check) for check in checks]
        for future in futures:
            yield future.result()


class CheckSession:
    """Probe contexts per cluster role for one run."""

    def __init__(
        self,
        run: Run | None,
        inventory: Inventory,
        clusters: dict[str, Cluster],
        kubeconfigs: dict[str, Path | None],
        stop: threading.Event,
        on_event: Callable[[Any], None] | None = None,
        check_timeout: float | None = None,
        forwards: Forwards | None = None,
    ) -> None:
        """`run` None: no ledger run is open (`lab tutorial check` beside a running session,
        which holds the instance's lock), so `job` checks, which create a Job, are refused."""
        self.check_timeout = check_timeout
        self.forwards = forwards
        self.ledger_run = run
        self.inventory = inventory
        self.clusters = clusters
        self.kubeconfigs = kubeconfigs
        self.stop = stop
        self.on_event = on_event

    def context(self, role: str) -> probes.ProbeContext:
        if role not in self.clusters:
            raise InputError(f"no connection to the {role} cluster")
        cluster = self.clusters[role]
        return probes.ProbeContext(
            cluster=cluster,
            readiness=readiness_of,
            kubeconfig=self.kubeconfigs.get(role),
            context=cluster.context,
            run_pod=lambda spec, name, remaining: self._run_job(role, spec, name, remaining),
            run_command=_run_command,
            forward=self._forwarder(role),
        )

    def _forwarder(self, role: str) -> Callable[[str, str, str], str] | None:
        forwards = self.forwards
        if forwards is None:
            return None
        return lambda namespace, service, port: forwards.url(role, namespace, service, port)

    def run(
        self, check: m.AnyCheck, checkpoint: str | None = None, *, timeout: float | None = None
    ) -> CheckResult:
        """`timeout` (else the session's `check_timeout`) overrides the check's own deadline."""
        return run_check(
            check, self.context(check.cluster), self.stop, checkpoint=checkpoint,
            timeout=timeout if timeout is not None else self.check_timeout,
        )

    def _run_job(self, role: str, spec: m.JobSpec, check_name: str, remaining: float) -> Outcome:
        from illm_lab.engine import prune as pruning
        from illm_lab.engine.apply import Applier, plan
        from illm_lab.engine.wait import wait_for

        if self.ledger_run is None:
            raise InputError(
                "job checks create a Job, which must be recorded in the ledger: run this checkpoint "
                "from the tutorial session (press Enter there)"
            )
        cluster = self.clusters[role]
        job = _job_object(spec, check_name, self.inventory)
        desired = plan([(CHECKS_COMPONENT, [job])], self.inventory)
        ref = desired[0].ref
        applier = Applier(
            cluster,
            self.inventory,
            recorder=self.ledger_run.recorder(role),
            role=role,
            on_event=self.on_event,
        )
        recorder = self.ledger_run.recorder(role)
        try:
            applier.apply(desired)
            try:
                wait_for(
                    cluster,
                    ref,
                    readiness.job_complete,
                    deadline=time.monotonic() + remaining,
                    what=f"check job {ref.name} to complete",
                )
                ok, message = True, f"job {ref.name} completed"
            except ClusterError as exc:
                ok, message = False, str(exc)
            logs = _job_logs(cluster, ref)
            return Outcome(ok, message, details=[f"  | {line}" for line in logs[-15:]] if not ok else [])
        finally:
            pruning.delete_all(cluster, [ref], recorder=recorder, on_event=self.on_event, role=role)


def _job_object(spec: m.JobSpec, check_name: str, inventory: Inventory) -> dict[str, Any]:
    slug = re.sub(r"[^a-z0-9]+", "-", check_name.lower()).strip("-")[:30] or "check"
    digest = hashlib.sha256(f"{inventory.instance}/{check_name}".encode()).hexdigest()[:6]
    container: dict[str, Any] = {
        "name": "check",
        "image": spec.image,
        "command": list(spec.command),
        "imagePullPolicy": "IfNotPresent",
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "containers": [container],
    }
    if spec.service_account:
        pod_spec["serviceAccountName"] = spec.service_account
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"check-{slug}-{digest}", "namespace": spec.namespace},
        "spec": {"backoffLimit": 0, "template": {"spec": pod_spec}},
    }


def _job_logs(cluster: Cluster, ref: ObjectRef) -> list[str]:
    try:
        pods = cluster.list("v1", "Pod", ref.namespace, f"job-name={ref.name}")
        if not pods:
            return []
        text = cluster.pod_logs(str(ref.namespace), str(pods[0]["metadata"]["name"]), None, 50)
        return text.splitlines()
    except ClusterError:
        return []


def _run_command(spec: m.CommandSpec, env: dict[str, str], remaining: float) -> tuple[int, str, str]:
    from illm_lab.tools.run import ToolFailed, run

    try:
        result = run(spec.run, timeout=max(1.0, remaining), env=env)
    except ToolFailed as exc:
        return exc.tool_exit_code, exc.stdout, exc.stderr
    return result.exit_code, result.stdout, result.stderr


def query_metric(cluster: Cluster, metric: Metric) -> MetricResult:
    """One comparison figure: every sample of the query's instant vector, with its labels."""
    import json
    import urllib.parse

    ns, svc, port = m.parse_service_ref(metric.service)
    path = "/api/v1/query?" + urllib.parse.urlencode({"query": metric.query})
    measured = MetricResult(metric.name, metric.query, metric.unit)
    try:
        status, body = cluster.proxy_get(ns, svc, port, path)
        data = json.loads(body)["data"] if status == 200 else None
    except (ClusterError, ValueError, KeyError) as exc:
        return replace(measured, error=str(exc)[:200])
    if data is None:
        return replace(measured, error=f"query failed with status {status}")
    if data.get("resultType") == "scalar":
        return replace(measured, values=[Sample({}, float(data["result"][1]))])
    return replace(measured, values=[Sample(dict(s.get("metric") or {}), float(s["value"][1]))
                                     for s in data.get("result") or []])
