"""P5: peak memory (max RSS) of a whole `lab conduct`, against `kubectl apply --server-side` of
the same rendered objects as the baseline, both run side by side against the API emulator.

Usage: python bench/conduct_rss.py [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.demoapp import demo_app, fake_prometheus
from tests.support.emulator import LabEmulator

from bench.report import update_section

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "experiments"


def peak_rss_mib(argv: list[str], env: dict[str, str]) -> float:
    """Max RSS of one child process (wait4 reports it per child, in KiB on Linux)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,):
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{argv[2:5]} failed ({proc.returncode}): {err[-500:]}")
    return usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lab-bench-rss-"))
    env = {
        **os.environ,
        "LAB_STATE_DIR": str(work / "state"),
        "LAB_CACHE_DIR": str(work / "cache"),
        "LAB_CONFIG": str(work / "config.yaml"),
        "NO_COLOR": "1",
    }
    emulator = LabEmulator().start(work)
    kubectl = shutil.which("kubectl")
    lab_samples: list[float] = []
    kubectl_samples: list[float] = []
    try:
        emulator.auto_ready(["Deployment", "Pod", "Job"], after=0.02)
        emulator.on_create(
            "Pod", lambda pod: emulator.set_logs("checks", pod["metadata"]["name"], "GET / 200\n")
        )
        with demo_app() as app_url, fake_prometheus(7) as prom_url:
            for port in (9898, "http"):
                emulator.register_backend("checks", "web", port, app_url)
            emulator.register_backend("checks", "prometheus", 9090, prom_url)
            rendered = work / "rendered.yaml"
            rendered.write_text(
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "illm_lab",
                        "--experiments-dir",
                        str(FIXTURES),
                        "render",
                        "checks-demo",
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    env=env,
                ).stdout
            )
            kube = ["--kubeconfig", str(emulator.kubeconfig)]
            for _ in range(args.runs):
                lab_samples.append(
                    peak_rss_mib(
                        [
                            sys.executable,
                            "-m",
                            "illm_lab",
                            "--experiments-dir",
                            str(FIXTURES),
                            "conduct",
                            "checks-demo",
                            "--ci",
                            "--allow-commands",
                            *kube,
                        ],
                        env,
                    )
                )
                if kubectl:
                    kubectl_samples.append(
                        peak_rss_mib([kubectl, "apply", "--server-side", "-f", str(rendered), *kube], env)
                    )
    finally:
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)
    figures = {"lab conduct": statistics.median(lab_samples)}
    lines = [
        "## P5 — peak memory of a conduct",
        "",
        f"Max RSS (wait4) of whole processes, median of {args.runs} runs against the API emulator: a full",
        "`lab conduct checks-demo` (render, lint, apply, waits, 10 checks of every type, teardown)",
        "against `kubectl apply --server-side -f` of the same rendered objects, which does only the apply.",
        "",
        "| process | peak RSS | ratio vs kubectl |",
        "|---|---|---|",
    ]
    if kubectl_samples:
        base = statistics.median(kubectl_samples)
        figures["kubectl apply"] = base
        lines.append(f"| `kubectl apply --server-side` (baseline) | {base:.0f} MiB | 1.00 |")
        lines.append(
            f"| `lab conduct` | {figures['lab conduct']:.0f} MiB | {figures['lab conduct'] / base:.2f} |"
        )
    else:
        lines.append(
            f"| `lab conduct` | {figures['lab conduct']:.0f} MiB | (kubectl not found: no baseline) |"
        )
    if not args.no_write:
        update_section("conduct-rss", "\n".join(lines))
    print("\n".join(lines))
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
