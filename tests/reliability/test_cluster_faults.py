"""Real faults on the real cluster (tests/reliability/cluster_faults.py): an API server killed
mid-conduct, a stopped kubelet, a finalizer nobody removes, a full state directory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.reliability.cluster_faults import (
    apiserver_trial,
    damaged_ledger_trial,
    disk_full_trials,
    finalizer_trial,
    kubelet_trial,
)
from tests.reliability.harness import RealTarget
from tests.support.real_cluster import RealCluster


def _local(cluster: RealCluster) -> Path:
    if cluster.kind != "local":
        pytest.skip("stops components of the local cluster (tier 3 only)")
    return Path(cluster.extra["workdir"])


@pytest.mark.cluster
@pytest.mark.slow
def test_a_stopped_kubelet_is_named_and_a_later_down_finishes(real_cluster: RealCluster,
                                                                tmp_path: Path) -> None:
    trial = kubelet_trial(tmp_path, RealTarget.of(real_cluster), _local(real_cluster))
    assert trial.correct, "\n".join(map(str, [*trial.runs, trial.detail]))


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("step", ["deploy", "checks", "teardown"])
def test_a_conduct_survives_its_api_server_being_killed(real_cluster: RealCluster, tmp_path: Path,
                                                         step: str) -> None:
    trial = apiserver_trial(tmp_path, RealTarget.of(real_cluster), _local(real_cluster), step)
    assert trial.correct, trial.as_dict()


@pytest.mark.cluster
def test_a_finalizer_is_named_and_removed_only_when_asked(real_cluster: RealCluster, tmp_path: Path) -> None:
    trial = finalizer_trial(tmp_path, RealTarget.of(real_cluster))
    assert trial.correct, trial.as_dict()


def _can_mount(where: Path) -> bool:
    """Root may still lack the right to mount (an unprivileged container)."""
    where.mkdir(parents=True, exist_ok=True)
    tried = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                           capture_output=True, check=False)
    if tried.returncode != 0:
        return False
    subprocess.run(["umount", str(where)], capture_output=True, check=False)
    return True


@pytest.mark.emulator
@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs")
def test_a_full_state_dir_stops_with_one_line_and_loses_nothing(tmp_path: Path) -> None:
    if not _can_mount(tmp_path / "probe"):
        pytest.skip("mounts a tmpfs: not permitted here")
    trials = disk_full_trials(tmp_path / "work", tmp_path / "small")
    assert trials[-1].runs[0][1] == 0  # with enough room the conduct passes
    assert any("runs/" in t.runs[0][2] for t in trials), [t.runs for t in trials]  # the intent refused
    bad = [t.as_dict() for t in trials if not t.correct]
    assert not bad, bad


@pytest.mark.emulator
def test_damaged_ledger_files_are_named_and_skipped(tmp_path: Path) -> None:
    trial = damaged_ledger_trial(tmp_path)
    assert trial.correct, trial.as_dict()
