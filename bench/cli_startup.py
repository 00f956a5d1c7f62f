"""P1: start-up cost of the offline commands, as a ratio against `python -c "import typer"`.

Runs `lab --help` and `lab list` against the repository's catalog, interleaved with the
baseline so machine noise hits both alike; reports medians and ratios (goal <= 2.0x).
Usage: python bench/cli_startup.py [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, time_command, update_section

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    env = {**os.environ, "LAB_EXPERIMENTS_DIR": str(REPO / "experiments")}
    py = sys.executable
    cases = {
        "baseline": [py, "-c", "import typer"],
        "lab --help": [py, "-m", "illm_lab", "--help"],
        "lab list": [py, "-m", "illm_lab", "list"],
    }
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.runs):
        for name, cmd in cases.items():
            samples[name] += time_command(cmd, 1, env)
    med = {k: median(v) for k, v in samples.items()}
    ratios = {k: med[k] / med["baseline"] for k in cases if k != "baseline"}
    experiments = len([p for p in (REPO / "experiments").iterdir() if (p / "experiment.yaml").is_file()
                       and not p.name.startswith("_")])
    lines = [
        "## P1 — start-up of offline commands",
        "",
        f"Median of {args.runs} interleaved runs each; catalog of {experiments} experiments; "
        "goal: ratio <= 2.0.",
        "",
        "| command | median | ratio vs `python -c \"import typer\"` |",
        "|---|---|---|",
        f"| baseline `import typer` | {med['baseline'] * 1000:.0f} ms | 1.00 |",
    ]
    lines += [f"| `{k}` | {med[k] * 1000:.0f} ms | {ratios[k]:.2f} |" for k in ratios]
    if not args.no_write:
        update_section("cli-startup", "\n".join(lines))
    print("\n".join(lines))
    return ratios


if __name__ == "__main__":
    main()
