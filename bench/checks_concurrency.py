"""Checks run concurrently: the checks step of a conduct against its slowest check (tier 2).

The experiment of tests/conduct/test_checks_concurrent.py — two `assert` checks that never hold
(timeouts 2 s and 3 s) and one that passes — conducted on the API emulator; the figure is the
checks step's duration (from the report) over the slowest check's own duration, median of the
runs. Goal: <= 1.2. The sum of the checks' durations is what the step took when they ran one
after another.

Usage: python bench/checks_concurrency.py [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, update_section


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    from tests.conduct.test_checks_concurrent import _experiment
    from tests.support.emulator import LabEmulator
    from typer.testing import CliRunner

    from illm_lab.cli.main import app

    steps: list[float] = []
    slowest: list[float] = []
    sums: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lab-bench-checks-") as work, \
            LabEmulator().start(Path(work) / "emu") as emu:
        _experiment(Path(work) / "experiments")
        for _ in range(args.runs):
            res = CliRunner().invoke(app, [
                "--experiments-dir", str(Path(work) / "experiments"), "conduct", "slow-checks",
                "--ci", "-o", "json", "--kubeconfig", str(emu.kubeconfig)])
            out = json.loads(res.stdout)
            report = out[0] if isinstance(out, list) else out
            durations = [c["durationSeconds"] for c in report["checks"]]
            steps.append(next(s for s in report["steps"] if s["name"] == "checks")["durationSeconds"])
            slowest.append(max(durations))
            sums.append(sum(durations))
    ratio = median([s / m for s, m in zip(steps, slowest, strict=True)])
    lines = [
        "## Checks step vs its slowest check (tier 2)",
        "",
        f"Three independent checks (two never hold, timeouts 2 s and 3 s; one passes) in one "
        f"`lab conduct` on the API emulator; durations from the report; median of {args.runs} runs; "
        "goal: ratio <= 1.2.",
        "",
        "| checks step | slowest check | sum of the checks | ratio step / slowest | goal |",
        "|---|---|---|---|---|",
        f"| {median(steps):.2f} s | {median(slowest):.2f} s | {median(sums):.2f} s | {ratio:.2f} | <= 1.2 |",
    ]
    if not args.no_write:
        update_section("checks-concurrency", "\n".join(lines))
    print("\n".join(lines))
    return ratio


if __name__ == "__main__":
    main()
