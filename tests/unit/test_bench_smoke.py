"""Benchmarks run once in the test suite as a smoke test (figures are never asserted)."""

from __future__ import annotations

from bench import cli_startup


def test_cli_startup_bench_runs_once() -> None:
    ratios = cli_startup.main(["--runs", "1", "--no-write"])
    assert set(ratios) == {"lab --help", "lab list"}
    assert all(r > 0 for r in ratios.values())


def test_conduct_rss_bench_runs_once() -> None:
    from bench import conduct_rss

    figures = conduct_rss.main(["--runs", "1", "--no-write"])
    assert figures["lab conduct"] > 0
