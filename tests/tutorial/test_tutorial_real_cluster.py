"""Tutorials on a real cluster (tier 3 locally, tier 4 with LAB_E2E_KUBECONFIG): real pods of the
podinfo-compatible image behind the fixture tutorial's Service, reached through the API server's
real WebSocket port-forward. A scripted learner walks the session; `--ci` runs the checkpoints
as checks with their solutions."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path
from typing import Any

from kubernetes import client
from typer.testing import CliRunner

from illm_lab import lifecycle
from illm_lab.base import events
from illm_lab.cli.main import app
from illm_lab.tutorial.session import Step
from tests.support.real_cluster import RealCluster, watch_until_gone
from tests.support.reports import single
from tests.tutorial.conftest import FIXTURES, NS, ScriptedLearner


def image_sets(cluster: RealCluster) -> list[str]:
    return [f"image={cluster.images['app']}", f"pullPolicy={cluster.pull_policy}"]


def forward_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lab-forward")]


def namespace_gone(cluster: RealCluster) -> None:
    api = cluster.api_client()
    try:
        watch_until_gone(client.CoreV1Api(api).list_namespace, NS, what=f"namespace {NS} deleted", timeout=120)
    finally:
        api.close()


def test_ci_run_passes_every_checkpoint_on_real_pods(real_cluster: RealCluster, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    args = ["--experiments-dir", str(FIXTURES), "tutorial", "start", "lab-tutorial", "--ci", "-o", "json",
            "--junit", str(junit), "--kubeconfig", str(real_cluster.kubeconfig),
            "--context", real_cluster.context]
    for item in image_sets(real_cluster):
        args += ["--set", item]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    report = single(res.stdout)
    assert [c["passed"] for c in report["checks"]] == [True] * 4
    assert "(port-forward): status 200" in report["checks"][1]["message"]
    assert forward_threads() == []
    namespace_gone(real_cluster)


def test_session_through_a_real_port_forward(real_cluster: RealCluster) -> None:
    seen: dict[str, Any] = {}

    def browse_then_check(learner: ScriptedLearner, _step: Step, _wake: Any) -> str:
        assert learner.intro is not None
        url = learner.intro.endpoints[0].url
        assert url is not None
        with urllib.request.urlopen(url, timeout=10) as resp:  # what the learner's browser does
            seen["status"] = resp.status
        return "check"

    def write_note(_learner: ScriptedLearner, _step: Step, _wake: Any) -> str:
        api = real_cluster.api_client()
        try:
            client.CoreV1Api(api).create_namespaced_config_map(
                NS, {"metadata": {"name": "note"}, "data": {"answer": "42"}}, _request_timeout=30)
        finally:
            api.close()
        return "check"

    learner = ScriptedLearner([browse_then_check, write_note, "quit"])
    request = lifecycle.tutorial_request(lifecycle.ConductRequest(
        names=["lab-tutorial"], kubeconfig=real_cluster.kubeconfig, context=real_cluster.context,
        sets=image_sets(real_cluster), interactive=True, learner=learner, experiments_dir=FIXTURES,
    ))
    [report] = lifecycle.conduct_many(request, events.EventCollector())
    assert report.verdict == "passed", report.error
    assert seen["status"] == 200
    assert learner.intro is not None and learner.intro.endpoints[0].credentials == {"password": "tutorial-s3cret-value"}
    assert [(name, v.passed) for name, v in learner.verdicts] == [("open-the-app", True), ("leave-a-note", True)]
    assert learner.summary is not None and learner.summary.remaining == ["sign-the-review"]
    assert forward_threads() == []
    namespace_gone(real_cluster)
