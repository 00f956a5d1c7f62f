"""Every check type passing, and failing with its diagnostics, on tier 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.conduct.test_conduct_emulator import labelled
from tests.support.demoapp import demo_app, fake_prometheus
from tests.support.emulator import LabEmulator
from tests.support.reports import single

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "experiments"


@pytest.fixture
def cluster(emulator: LabEmulator) -> Iterator[LabEmulator]:
    emulator.auto_ready(["Deployment", "Pod"], after=0.05)
    with demo_app() as app_url, fake_prometheus(7) as prom_url:
        for port in (9898, "http"):
            emulator.register_backend("checks", "web", port, app_url)
        emulator.register_backend("checks", "prometheus", 9090, prom_url)
        yield emulator


def conduct(emulator: LabEmulator, name: str, *extra: str) -> Any:
    res = CliRunner().invoke(app, [
        "--experiments-dir", str(FIXTURES), "conduct", name, "--ci", "--allow-commands", "-o", "json",
        "--kubeconfig", str(emulator.kubeconfig), *extra,
    ])
    return res


def test_every_check_type_passes(cluster: LabEmulator) -> None:
    cluster.auto_ready("Job", after=0.05)
    cluster.on_create("Pod", lambda pod: cluster.set_logs("checks", pod["metadata"]["name"], "GET / 200\n")
                      if pod["metadata"]["name"] == "talker" else None)
    res = conduct(cluster, "checks-demo")
    report = single(res.stdout)
    failed = [c for c in report["checks"] if not c["passed"]]
    assert res.exit_code == 0 and not failed, failed or res.output
    assert {c["type"] for c in report["checks"]} == {
        "ready", "assert", "absent", "http", "promql", "logs", "job", "command"}
    assert labelled(cluster) == []
    assert [j for j in cluster.list("batch/v1", "Job") if j["metadata"]["name"].startswith("check-")] == []


def test_every_check_type_fails_with_diagnostics(cluster: LabEmulator) -> None:
    def fail_job(job: dict[str, Any]) -> None:
        cluster.set_status("batch/v1", "Job", job["metadata"]["namespace"], job["metadata"]["name"], {
            "failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                         "message": "Job has reached the specified backoff limit"}]})

    cluster.on_create("Job", fail_job)
    cluster.on_create("Pod", lambda pod: cluster.set_logs("checks", pod["metadata"]["name"], "GET / 200\n"))
    res = conduct(cluster, "checks-failing", "--check-timeout", "1s")
    assert res.exit_code == 1, res.output
    report = single(res.stdout)
    by_name = {c["name"]: c for c in report["checks"]}
    assert not any(c["passed"] for c in report["checks"])
    expectations = {
        "talker reaches an impossible condition": "condition NeverTrue not reported",
        "web has three replicas": "status.availableReplicas: expected (>= 3), got 1",
        "settings are gone": "still present: settings",
        "web answers 201": "status 200, expected 201",
        "many requests": "sum(http_requests_total) = 7, expected > 1000",
        "talker logs an error": "no log line of 1 pod(s) matches /ERROR/",
        "in-cluster job fails": "job failed: Job has reached the specified backoff limit",
        "local command fails": "exited 3, expected 0",
    }
    for name, fragment in expectations.items():
        assert fragment in by_name[name]["message"], (name, by_name[name]["message"])
    assert "after" in by_name["web answers 201"]["message"]  # attempts and time are reported
    assert labelled(cluster) == []


def test_two_experiments_in_parallel_do_not_cross_talk(cluster: LabEmulator, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "experiments"
    for name in ("checks-demo", "checks-failing"):
        shutil.copytree(FIXTURES / name, root / name)
    cluster.auto_ready("Job", after=0.05)
    cluster.on_create("Pod", lambda pod: cluster.set_logs("checks", pod["metadata"]["name"], "GET / 200\n"))
    # both use namespace `checks`: give the failing one its own namespace to share the cluster
    failing = root / "checks-failing"
    for path in [failing / "experiment.yaml"]:
        text = path.read_text().replace('"checks/', '"checks-b/').replace("checks/prometheus", "checks-b/prometheus")
        text = text.replace("namespace: checks", "namespace: checks-b").replace("    checks: {pod", "    checks-b: {pod")
        path.write_text(text)
    with demo_app() as app_url, fake_prometheus(7) as prom_url:
        for port in (9898, "http"):
            cluster.register_backend("checks-b", "web", port, app_url)
        cluster.register_backend("checks-b", "prometheus", 9090, prom_url)
        res = CliRunner().invoke(app, [
            "--experiments-dir", str(root), "conduct", "--all", "--parallel", "2", "--ci", "--allow-commands",
            "-o", "json",
            "--check-timeout", "1s", "--kubeconfig", str(cluster.kubeconfig),
        ])
    assert res.stdout, res.output
    reports = {r["experiment"]: r for r in json.loads(res.stdout)}
    assert res.exit_code == 1
    assert reports["checks-demo"]["verdict"] == "passed"
    assert reports["checks-failing"]["verdict"] == "failed"
    assert reports["checks-demo"]["instance"] != reports["checks-failing"]["instance"]
    assert labelled(cluster) == []


def test_record_writes_a_validation_record_and_metrics_are_reported(cluster: LabEmulator, tmp_path: Path) -> None:
    import shutil

    import yaml

    from illm_lab.model.record import ValidationRecord

    root = tmp_path / "experiments"
    shutil.copytree(FIXTURES / "checks-demo", root / "checks-demo")
    manifest = root / "checks-demo" / "experiment.yaml"
    manifest.write_text(manifest.read_text().replace("type: demo", "type: comparison") + (
        "  metrics:\n    - {name: requests, query: sum(http_requests_total), unit: req,"
        " service: 'checks/prometheus:9090'}\n"))
    cluster.auto_ready("Job", after=0.05)
    cluster.on_create("Pod", lambda pod: cluster.set_logs("checks", pod["metadata"]["name"], "GET / 200\n"))
    res = CliRunner().invoke(app, ["--experiments-dir", str(root), "conduct", "checks-demo", "--ci", "--record",
                                   "--allow-commands",
                                   "-o", "json", "--kubeconfig", str(cluster.kubeconfig)])
    assert res.exit_code == 0, res.output
    report = single(res.stdout)
    assert report["metrics"] == [{"name": "requests", "query": "sum(http_requests_total)", "unit": "req",
                                  "values": [{"labels": {"job": "web"}, "value": 7.0}]}]
    record = ValidationRecord.model_validate(yaml.safe_load((root / "checks-demo" / "validation.yaml").read_text()))
    assert record.passed and record.experiment == "checks-demo" and len(record.checks) == 10
    assert record.params_hash.startswith("sha256:")
    table = CliRunner().invoke(app, ["--experiments-dir", str(root), "conduct", "checks-demo", "--ci",
                                     "--allow-commands",
                                     "--kubeconfig", str(cluster.kubeconfig)])
    assert "requests (req)" in table.stdout and "job=web" in table.stdout
