"""`access` checks against a real authorizer (tier 3, or the cluster of LAB_E2E_KUBECONFIG).

RBAC is decided by the API server alone, so the catalog's `rbac-least-privilege` tutorial runs
completely here: its checkpoints are proved to fail before their solutions and pass after on the
real RBAC authorizer (no emulated one), the non-interactive conduct passes every check, and a
wrong expectation fails with a message that says who may or may not do what.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from illm_lab import catalog, kube
from illm_lab.catalog import params as catalog_params
from illm_lab.checks.runner import run_check
from illm_lab.conduct.checking import CheckSession
from illm_lab.deploy.deployment import waves
from illm_lab.engine.apply import Applier, plan
from illm_lab.engine.inventory import Inventory
from illm_lab.model.experiment import Experiment
from illm_lab.rendering import render
from tests.e2e.test_conduct_real import lab, leftovers
from tests.support.real_cluster import RealCluster, delete_namespace
from tests.support.reports import single

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
NAME = "rbac-least-privilege"
NAMESPACES = ("rbac-demo", "rbac-other")


def _apply(cluster: Any, inventory: Inventory, components: list[tuple[str, list[dict[str, Any]]]]) -> None:
    Applier(cluster, inventory).apply(plan(components, inventory))


def test_each_checkpoint_fails_before_its_solution_and_passes_after(real_cluster: RealCluster) -> None:
    entry = catalog.find(REPO / "experiments", NAME)
    resolved = catalog_params.resolve(entry.experiment)
    entry = catalog.bind(entry, resolved)
    rendering = render.render(entry, resolved)
    tutorial = entry.experiment.spec.tutorial
    assert tutorial is not None and len(tutorial.checkpoints) == 2
    cluster = kube.connect(real_cluster.kubeconfig, real_cluster.context)
    inventory = Inventory(NAME, "rbac-checkpoints")
    api = real_cluster.api_client()
    try:
        _apply(cluster, inventory, [("namespaces", rendering.namespaces.get("target", []))])
        for wave in waves(rendering.components):
            _apply(cluster, inventory, [(c.name, c.objects) for c in wave if c.objects])
        session = CheckSession(None, inventory, {"target": cluster}, {"target": real_cluster.kubeconfig},
                               threading.Event())
        experiment_checks = [session.run(c, None, timeout=20) for c in entry.experiment.spec.checks]
        assert all(r.passed for r in experiment_checks), [r.message for r in experiment_checks if not r.passed]
        for cp in tutorial.checkpoints:
            before = [session.run(c, cp.name, timeout=1) for c in cp.checks]
            assert not all(r.passed for r in before), f"{cp.name} passes before the learner did anything"
            solution = rendering.solutions[cp.name]
            _apply(cluster, inventory, [(solution.name, solution.objects)])
            after = [session.run(c, cp.name, timeout=20) for c in cp.checks]
            failed = [f"{r.name}: {r.message}" for r in after if not r.passed]
            assert not failed, f"{cp.name} fails after its solution: {failed}"
        # What the authorizer said is in the message: the binding that allowed it.
        allowed = next(r for r in after if r.name == "CI may patch its Deployment")
        assert "may patch deployments.apps web in rbac-demo" in allowed.message
        assert 'RoleBinding "ci-deployer/rbac-demo"' in allowed.message
    finally:
        cluster.close()
        for namespace in NAMESPACES:
            delete_namespace(api, namespace)
        api.close()


def test_a_wrong_expectation_says_who_may_do_what(real_cluster: RealCluster) -> None:
    experiment = Experiment.model_validate({
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": "wrong", "title": "Wrong", "phase": "6", "type": "demo"},
        "spec": {"checks": [
            {"name": "a nobody may read secrets", "access": {
                "user": "nobody", "verb": "get", "resource": "secrets", "namespace": "default"}},
            {"name": "the admin may not", "access": {
                "user": "admin", "groups": ["system:masters"], "verb": "get", "resource": "secrets",
                "namespace": "default", "allowed": False}},
        ]},
    })
    cluster = kube.connect(real_cluster.kubeconfig, real_cluster.context)
    try:
        from illm_lab.checks import probes

        ctx = probes.ProbeContext(cluster=cluster, readiness=lambda obj: (True, ""))
        nobody, admin = (run_check(c, ctx, timeout=1) for c in experiment.spec.checks)
    finally:
        cluster.close()
    assert not nobody.passed and nobody.type == "access"
    assert nobody.message.startswith("user nobody may not get secrets in default; expected it allowed")
    assert not admin.passed and admin.message.startswith("user admin may get secrets in default")
    assert "expected it denied" in admin.message


def test_the_tutorial_conducts_for_real(real_cluster: RealCluster) -> None:
    res = lab(real_cluster, REPO / "experiments", "conduct", NAME, "--ci", "-o", "json")
    report = single(res.stdout)
    failed = [c for c in report.get("checks", []) if not c["passed"]]
    assert res.exit_code == 0 and not failed, (res.stderr, failed)
    assert {c["type"] for c in report["checks"]} == {"access"}
    assert len(report["checks"]) == 6 + 5 + 6  # the experiment's and both checkpoints'
    assert leftovers(real_cluster, NAME) == []
