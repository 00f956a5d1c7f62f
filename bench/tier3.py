"""What the benchmarks against a real cluster share: starting the tier-3 cluster for one run,
timing a whole process that must succeed, and the environment that keeps lab's state apart."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def on_local_cluster(argv: list[str], main: Callable[[list[str]], T]) -> T:
    """Run `main` (minus `--local-cluster`) against a tier-3 cluster started for this run
    (`scripts/local-cluster up`, root only), then remove the cluster."""
    script = [sys.executable, str(REPO / "scripts" / "local-cluster")]
    workdir = Path(tempfile.mkdtemp(prefix="lab-bench-cluster-", dir="/tmp"))
    up = subprocess.run([*script, "up", "--workdir", str(workdir)], capture_output=True, text=True,
                        check=False)
    try:
        if up.returncode != 0:
            raise SystemExit(f"local-cluster up failed:\n{up.stderr[-2000:]}")
        info = json.loads(up.stdout.strip().splitlines()[-1])
        rest = [a for a in argv if a != "--local-cluster"]
        return main([*rest, "--kubeconfig", info["kubeconfig"], "--context", info["context"]])
    finally:
        subprocess.run([*script, "down", "--workdir", str(workdir)], capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds one whole process took; a failure ends the benchmark with its output."""
    t0 = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} ... failed ({result.returncode}):\n"
                         f"{result.stdout[-1000:]}{result.stderr[-2000:]}")
    return elapsed


def lab_env(work: Path) -> dict[str, str]:
    """lab's state, cache and config inside `work`, the sources of this checkout, compiled
    first so no run pays for writing bytecode."""
    env = {**os.environ, "LAB_STATE_DIR": str(work / "state"), "LAB_CACHE_DIR": str(work / "cache"),
           "LAB_CONFIG": str(work / "config.yaml"), "HOME": str(work / "home"),
           "PYTHONPATH": str(REPO / "src"), "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "illm_lab")],
                   env=env, capture_output=True, check=True)
    return env


def parser(runs: int) -> argparse.ArgumentParser:
    """The options every benchmark against a cluster takes; add its own, then `args`."""
    out = argparse.ArgumentParser()
    out.add_argument("--kubeconfig", type=Path)
    out.add_argument("--local-cluster", action="store_true")
    out.add_argument("--context")
    out.add_argument("--runs", type=int, default=runs)
    out.add_argument("--no-write", action="store_true")
    return out


def kubectl_or_exit(benchmark: str) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit(f"kubectl not found: {benchmark} needs it as the baseline")
    return kubectl


def target(args: argparse.Namespace) -> list[str]:
    """lab's flags naming the cluster."""
    return ["--kubeconfig", str(args.kubeconfig), *(["--context", args.context] if args.context else [])]


def kubectl_argv(kubectl: str, args: argparse.Namespace, work: Path) -> list[str]:
    """kubectl naming the same cluster, with a discovery cache of its own in `work`."""
    return [kubectl, "--cache-dir", str(work / "kcache"), *target(args)]


def versus(samples: dict[str, list[float]], headers: tuple[str, str], goal: str) -> list[str]:
    """The table of a lab-against-kubectl benchmark — medians, their ratio, the goal — and
    every sample, as markdown lines."""
    lab, kubectl = (statistics.median(samples[k]) for k in ("lab", "kubectl"))
    return [
        f"| {headers[0]} | {headers[1]} | ratio | goal |",
        "|---|---|---|---|",
        f"| {lab:.2f} s | {kubectl:.2f} s | {lab / kubectl:.2f} | {goal} |",
        "",
        "Samples (s): lab " + ", ".join(f"{v:.2f}" for v in samples["lab"])
        + "; kubectl " + ", ".join(f"{v:.2f}" for v in samples["kubectl"]) + ".",
    ]


def publish(section: str, lines: list[str], write: bool) -> None:
    """Print a benchmark's section, and write it into docs/benchmarks.md unless told not to."""
    from bench.report import update_section

    text = "\n".join(lines)
    if write:
        update_section(section, text)
    print(text)
