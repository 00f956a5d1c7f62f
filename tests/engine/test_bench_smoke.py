"""The engine's benchmarks run once in the test suite as a smoke test (figures never asserted)."""

from __future__ import annotations

import pytest
from bench import engine_apply, readiness_latency

from tests.support.real_cluster import RealCluster


@pytest.mark.emulator
def test_readiness_latency_bench_runs_once() -> None:
    figures = readiness_latency.main(["--runs", "1", "--no-write"])
    assert set(figures) == {"median", "get ratio", "apply ratio"}
    assert all(v > 0 for v in figures.values())


def test_engine_apply_bench_runs_once(real_cluster: RealCluster) -> None:
    args = ["--kubeconfig", str(real_cluster.kubeconfig), "--context", real_cluster.context,
            "--objects", "24", "--namespaces", "2", "--runs", "1", "--no-write"]
    figures = engine_apply.main(args)
    assert figures and all(v > 0 for v in figures.values())
