"""The shipped GitHub Actions workflow runs the cluster tests against kind (tier 4)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "e2e.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def job(workflow: dict[Any, Any]) -> dict[str, Any]:
    return dict(workflow["jobs"]["kind"])


@pytest.fixture(scope="module")
def catalog_job(workflow: dict[Any, Any]) -> dict[str, Any]:
    return dict(workflow["jobs"]["catalog"])


def _step_using(job: dict[str, Any], action: str) -> tuple[int, dict[str, Any]]:
    for index, step in enumerate(job["steps"]):
        if str(step.get("uses", "")).startswith(action + "@"):
            return index, step
    raise AssertionError(f"no step uses {action}")


def _step_running(job: dict[str, Any], fragment: str) -> tuple[int, dict[str, Any]]:
    for index, step in enumerate(job["steps"]):
        if fragment in str(step.get("run", "")):
            return index, step
    raise AssertionError(f"no step runs {fragment!r}")


def test_triggers_on_pull_requests_and_main(workflow: dict[Any, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as True
    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}


def test_job_is_bounded_and_runs_on_linux(job: dict[str, Any]) -> None:
    assert job["runs-on"].startswith("ubuntu-")
    assert 0 < job["timeout-minutes"] <= 90


def test_steps_create_kind_install_then_run_cluster_tests(job: dict[str, Any]) -> None:
    checkout, _ = _step_using(job, "actions/checkout")
    python, setup = _step_using(job, "actions/setup-python")
    kind, kind_step = _step_using(job, "helm/kind-action")
    install, _ = _step_running(job, "pip install -e '.[test]'")
    tests, test_step = _step_running(job, "pytest -m cluster")
    assert checkout < python < install < tests
    assert kind < tests
    assert setup["with"]["python-version"] == "3.11"
    assert kind_step["with"]["node_image"].startswith("kindest/node:v1.")
    assert "if" not in test_step, "the tests must run unconditionally"


def test_kubeconfig_of_kind_is_handed_to_the_tests(job: dict[str, Any]) -> None:
    _, kind_step = _step_using(job, "helm/kind-action")
    env = job["env"]
    assert env["LAB_E2E_KUBECONFIG"] == kind_step["with"]["kubeconfig"]
    assert "runner.temp" in env["LAB_E2E_KUBECONFIG"], "never the runner's ~/.kube/config"
    assert env["LAB_REQUIRE_CLUSTER"] == "1", "a missing cluster must fail, not skip"


def test_cluster_marker_is_registered() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    markers = config["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("cluster:") for m in markers)


def test_catalog_job_conducts_every_listed_experiment_with_its_real_charts(
    workflow: dict[Any, Any], catalog_job: dict[str, Any]
) -> None:
    lister = workflow["jobs"]["catalog-list"]
    _step_running(lister, "lab list -o json")
    assert catalog_job["needs"] == "catalog-list"
    strategy = catalog_job["strategy"]
    assert strategy["fail-fast"] is False, "one failing experiment must not cancel the others"
    assert strategy["matrix"]["experiment"] == "${{ fromJSON(needs.catalog-list.outputs.experiments) }}"
    pull, _ = _step_running(catalog_job, "lab charts pull")
    kind, _ = _step_using(catalog_job, "helm/kind-action")
    conduct, step = _step_running(catalog_job, "lab conduct")
    assert pull < conduct and kind < conduct
    for flag in ("--record", "--junit", "--ci", "--kubeconfig"):
        assert flag in step["run"]
    _, upload = _step_using(catalog_job, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert "experiments/${{ matrix.experiment }}/validation.yaml" in upload["with"]["path"]
    assert 0 < catalog_job["timeout-minutes"] <= 90
