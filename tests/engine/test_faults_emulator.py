"""Tier 2: faults between the engine and the API server, through the fault proxy.

Transient faults (429 with Retry-After, 500/503/504, connection resets) are retried and the apply
completes; a 422 is reported at once, with the server's message and the object, never retried; a
process killed between recording its intent and getting the answer leaves a ledger from which
everything it touched is deleted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from illm_lab import catalog, kube
from illm_lab.base.identity import ObjectRef
from illm_lab.deploy.teardown import delete_instance
from illm_lab.engine.apply import Applier, plan
from illm_lab.engine.inventory import Inventory
from illm_lab.engine.readiness import Verdict
from illm_lab.engine.wait import wait_for
from illm_lab.kube import errors as kerrors
from illm_lab.ledger import Ledger
from tests.engine import objects as o
from tests.support.catalogs import write_experiment
from tests.support.emulator import LabEmulator
from tests.support.faultproxy import ErrorStatus, Fault, FaultProxy, Hold, Reset, too_many_requests

pytestmark = pytest.mark.emulator
INV = Inventory("demo", "demo")
REPO = Path(__file__).resolve().parents[2]


def objects() -> list[tuple[str, list[dict[str, object]]]]:
    return [("app", [o.configmap(f"cm{i}", "default") for i in range(4)])]


TRANSIENT: list[Fault] = [ErrorStatus(500), ErrorStatus(503), ErrorStatus(504), too_many_requests(1),
                          Reset(), Reset(after_headers=True)]


@pytest.mark.parametrize("fault", TRANSIENT, ids=[f.label + str(getattr(f, "after_headers", "")) for f in TRANSIENT])
def test_transient_faults_are_retried(emulator: LabEmulator,
                                      fault_proxy_factory: Callable[..., FaultProxy], fault: Fault) -> None:
    proxy = fault_proxy_factory(emulator.kubeconfig)
    rule = proxy.add(fault, method="PATCH", path="/configmaps/cm1", times=2)
    with kube.connect(proxy.kubeconfig, None) as cluster:
        report = Applier(cluster, INV).apply(plan(objects(), INV))
    # a reset after the headers came back reached the server: the retry then finds the object
    assert sum(report.counts().values()) == 4 and set(report.counts()) <= {"created", "configured"}
    assert rule.injected == 2
    assert proxy.seen("PATCH", "/configmaps/cm1") == 3
    assert emulator.get("v1", "ConfigMap", "default", "cm1") is not None


def test_retry_budget_ends_with_the_servers_error(emulator: LabEmulator,
                                                  fault_proxy_factory: Callable[..., FaultProxy]) -> None:
    proxy = fault_proxy_factory(emulator.kubeconfig)
    proxy.add(ErrorStatus(503, message="etcd is sad"), method="PATCH", path="/configmaps/cm1")
    policy = kube.RetryPolicy(attempts=3, base=0.01)
    with kube.connect(proxy.kubeconfig, None, policy=policy) as cluster, \
            pytest.raises(kerrors.ServerError) as caught:
        Applier(cluster, INV).apply(plan(objects(), INV))
    assert "ConfigMap default/cm1: etcd is sad (HTTP 503" in str(caught.value)
    assert proxy.seen("PATCH", "/configmaps/cm1") == 3


def test_invalid_object_is_reported_at_once(emulator: LabEmulator,
                                            fault_proxy_factory: Callable[..., FaultProxy]) -> None:
    proxy = fault_proxy_factory(emulator.kubeconfig)
    message = 'ConfigMap "cm2" is invalid: data[bad key]: Invalid value: "bad key"'
    proxy.add(ErrorStatus(422, message=message), method="PATCH", path="/configmaps/cm2")
    with kube.connect(proxy.kubeconfig, None) as cluster, pytest.raises(kerrors.Invalid) as caught:
        Applier(cluster, INV).apply(plan(objects(), INV))
    assert str(caught.value).startswith(f"ConfigMap default/cm2: {message} (HTTP 422")
    assert caught.value.exit_code == 3
    assert proxy.seen("PATCH", "/configmaps/cm2") == 1  # never retried


def test_sigkill_between_intent_and_result_leaves_a_ledger_that_deletes_everything(
    emulator: LabEmulator, fault_proxy_factory: Callable[..., FaultProxy], tmp_path: Path,
) -> None:
    root = tmp_path / "experiments"
    write_experiment(root, "demo")
    proxy = fault_proxy_factory(emulator.kubeconfig)
    proxy.add(Hold(), method="PATCH", path="/deployments/app")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "illm_lab", "--experiments-dir", str(root), "apply", "demo",
         "--kubeconfig", str(proxy.kubeconfig), "--context", "emulator"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        proxy.wait_held(timeout=30)
        ledger = Ledger()
        (run,) = ledger.runs(instance="demo")
        states = {(x["kind"], x["name"]): x["state"] for x in run.objects}
        assert states[("Deployment", "app")] == "apply-intent"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proxy.release()  # the request the killed process sent now reaches the server
    with kube.connect(emulator.kubeconfig, "emulator") as cluster:
        exists = lambda obj: Verdict(obj is not None, "absent" if obj is None else "present")  # noqa: E731
        wait_for(cluster, ObjectRef("apps/v1", "Deployment", "app", "demo"), exists,
                 deadline=time.monotonic() + 10)
    (run,) = Ledger().runs(instance="demo")
    assert run.state == "running"  # killed: never finished

    entry = catalog.load(root / "demo")
    result = delete_instance(entry, targets=None, deadline=time.monotonic() + 20)
    removed = {(r.removal.ref.kind, r.removal.ref.name) for r in result.removed}
    assert {("Deployment", "app"), ("Service", "app"), ("Secret", "app-token"),
            ("Namespace", "demo")} <= removed
    for kind, api, name in [("Deployment", "apps/v1", "app"), ("Service", "v1", "app"),
                            ("Secret", "v1", "app-token")]:
        assert emulator.get(api, kind, "demo", name) is None
    assert emulator.get("v1", "Namespace", None, "demo") is None
    assert Ledger().outstanding("demo")["target"].refs == []
    assert json.loads(Path(run.path or "").read_text())["id"] == run.id
