"""Whole conducts through the fault proxy (tier 2 always, tier 3 when the local cluster runs).

Every schedule of `tests/reliability/faults.py` must end correctly: transient faults in a pass,
outages in a clear error with a ledger from which a fault-free `lab down` removes everything —
and no object is ever created twice or left behind. Timings are never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine import objects as o
from tests.reliability.faults import OUTAGES, TRANSIENT, fault_trial
from tests.reliability.harness import RealTarget
from tests.support.emulator import LabEmulator
from tests.support.faultproxy import ErrorStatus, Fault, FaultProxy, Reset, too_many_requests
from tests.support.real_cluster import RealCluster

RANDOM_SEEDS = [3, 11]
WATCH_REFUSALS: list[Fault] = [ErrorStatus(503), ErrorStatus(500), ErrorStatus(504), too_many_requests(0), Reset()]


@pytest.mark.emulator
@pytest.mark.parametrize("fault", WATCH_REFUSALS, ids=[f.label for f in WATCH_REFUSALS])
def test_a_refused_watch_is_retried_not_fatal(
    emulator: LabEmulator, fault_proxy_factory: Callable[..., FaultProxy], fault: Fault
) -> None:
    """Regression: a 5xx/429 answer to the request that opens a watch ended the whole wait (and
    the deploy with it); it is now retried like any request, within the wait's deadline."""
    from illm_lab import kube
    from illm_lab.base.identity import ObjectRef
    from illm_lab.engine import readiness
    from illm_lab.engine.wait import wait_for

    emulator.create(o.deployment("web", "default"))
    proxy = fault_proxy_factory(emulator.kubeconfig)
    rule = proxy.add(fault, watch=True, times=2)
    emulator.auto_ready("Deployment", after=0.5)
    rule_of_kind = readiness.for_kind("Deployment")
    assert rule_of_kind is not None
    with kube.connect(proxy.kubeconfig, None) as cluster:
        ref = ObjectRef("apps/v1", "Deployment", "web", "default")
        assert wait_for(cluster, ref, rule_of_kind, deadline=time.monotonic() + 20)
    assert rule.injected == 2


@pytest.mark.emulator
@pytest.mark.parametrize("schedule", [s for s in TRANSIENT if s != "random"])
def test_transient_faults_end_in_a_pass(tmp_path: Path, schedule: str) -> None:
    trial = fault_trial(tmp_path, schedule, seed=1)
    assert trial.faults > 0, "the schedule injected nothing"
    assert trial.exit_code == 0 and trial.correct, trial.as_dict()
    assert trial.duplicates == 0 and trial.orphans == [] and trial.left == []


@pytest.mark.emulator
@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_seeded_random_faults_end_correctly(tmp_path: Path, seed: int) -> None:
    trial = fault_trial(tmp_path, "random", seed=seed)
    assert trial.faults > 0
    assert trial.correct, trial.as_dict()
    assert trial.duplicates == 0 and trial.orphans == []


@pytest.mark.emulator
@pytest.mark.parametrize("schedule", OUTAGES)
def test_outages_fail_clearly_and_down_removes_everything(tmp_path: Path, schedule: str) -> None:
    trial = fault_trial(tmp_path, schedule, seed=1)
    assert trial.exit_code == 3, trial.as_dict()
    assert trial.correct, trial.as_dict()  # one clear error, consistent ledger, nothing orphaned
    assert "HTTP 503" in trial.detail
    if schedule == "delete-outage":
        assert trial.left, "the teardown could not delete: the objects stay, in the ledger"
        assert "teardown:" in trial.detail


@pytest.mark.timeout(600)
@pytest.mark.parametrize("schedule", ["random", "delete-outage"])
def test_faults_on_the_real_cluster(real_cluster: RealCluster, tmp_path: Path, schedule: str) -> None:
    trial = fault_trial(tmp_path, schedule, seed=5, real=RealTarget.of(real_cluster))
    assert trial.correct, trial.as_dict()
    assert trial.duplicates == 0 and trial.orphans == []
