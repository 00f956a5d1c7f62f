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


def test_ledger_queries_bench_runs_once() -> None:
    from bench import ledger_queries

    ratios = ledger_queries.main(["--instances", "3", "--runs-each", "4", "--runs", "1", "--no-write"])
    assert set(ratios) == {"lab status", "lab status <experiment>", "lab down (reads)", "lab apply (reads)"}
    assert all(r > 0 for r in ratios.values())



def test_lint_scale_bench_runs_once() -> None:
    from bench import lint_scale

    figures = lint_scale.main(["--counts", "5", "20", "--runs", "1", "--no-baseline", "--no-write"])
    assert set(figures) == {"render 5", "lint 5", "render 20", "lint 20"}
    assert all(v > 0 for v in figures.values())
