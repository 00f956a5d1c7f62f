"""Many conducts at once, each of its own copy of the fixture experiment: all pass, none
touches another's objects, nothing is left, nothing is created twice. The wall-time ratio
against one conduct alone is a figure (bench/reliability.py), never asserted here."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.reliability.fixture import copies
from tests.reliability.harness import RealTarget, tier2, tier3
from tests.reliability.load import LoadResult, load_trial
from tests.support.real_cluster import RealCluster


def _assert_no_cross_talk(result: LoadResult) -> None:
    assert result.failures == [], result.as_dict()
    assert result.share == 1.0, result.as_dict()
    assert result.cross_talk == [] and result.left == [] and result.duplicates == 0, result.as_dict()


@pytest.mark.emulator
@pytest.mark.timeout(300)
def test_twenty_conducts_in_one_process(tmp_path: Path) -> None:
    names = copies(20)
    with tier2(tmp_path, names) as stack:
        result = load_trial(stack, names, tmp_path, mode="parallel flag")
    assert result.conducts == 20
    _assert_no_cross_talk(result)


@pytest.mark.emulator
@pytest.mark.timeout(300)
def test_conduct_processes_at_once(tmp_path: Path) -> None:
    names = copies(4)
    with tier2(tmp_path, names) as stack:
        result = load_trial(stack, names, tmp_path, mode="processes")
    _assert_no_cross_talk(result)


@pytest.mark.timeout(900)
def test_conducts_at_once_on_the_real_cluster(real_cluster: RealCluster, tmp_path: Path) -> None:
    """Ten here to keep CI short; bench/reliability.py runs the twenty of the P6 figure."""
    target = RealTarget.of(real_cluster)
    names = copies(10, prefix=f"load{uuid.uuid4().hex[:4]}")
    with tier3(tmp_path, target.kubeconfig, target.context, names, (*target.params, "replicas=1")) as stack:
        result = load_trial(stack, names, tmp_path, mode="parallel flag")
    _assert_no_cross_talk(result)
