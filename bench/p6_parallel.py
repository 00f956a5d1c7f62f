"""P6: conducts in parallel — N conducts at once against one conduct alone, on a real cluster.

N copies of the reliability fixture experiment (each its own name, instance and Namespace: a
one-replica Deployment of the demo app, its Service, checks and teardown) conducted against one
cluster and one state dir: as N `lab conduct` processes, and as one `lab conduct --parallel 16`.
Ratio = wall time of all of them / wall time of one conduct alone, measured just before; all
must pass, with no cross-talk (each conduct's events and ledger name only its own objects) and
nothing left. Goal <= 3.

Usage: python bench/p6_parallel.py (--kubeconfig K [--context C] [--image I] | --local-cluster)
       [--conducts 20] [--no-write]. The image must exist on the cluster (on the tier-3 cluster,
       the local demo image, the default).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import tier3

GOAL = 3.0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from tests.reliability import load
    from tests.reliability.fixture import copies
    from tests.reliability.harness import tier3 as real_stack

    options = tier3.parser(runs=1)
    options.add_argument("--conducts", type=int, default=20)
    options.add_argument("--image", default="lab.local/labapp:1")
    args = options.parse_args(argv)
    if args.local_cluster:
        return tier3.on_local_cluster(list(argv) if argv is not None else sys.argv[1:], main)
    if args.kubeconfig is None:
        options.error("give --kubeconfig or --local-cluster")
    pull = "Never" if args.image.startswith("lab.local/") else "IfNotPresent"
    params = (f"image={args.image}", f"pullPolicy={pull}", "replicas=1")
    rows: dict[str, dict[str, Any]] = {}
    loads = [os.getloadavg()[0]]
    for mode in ("processes", "parallel flag"):
        work = Path(tempfile.mkdtemp(prefix="lab-bench-p6-"))
        try:
            names = copies(args.conducts, prefix=f"p6{uuid.uuid4().hex[:4]}")
            with real_stack(work, args.kubeconfig, args.context or "", names, params) as stack:
                rows[mode] = load.load_trial(stack, names, work, mode=mode).as_dict()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        loads.append(os.getloadavg()[0])
        row = rows[mode]
        print(f"{mode}: {row['passed']}/{row['conducts']} passed, alone {row['alone']} s, "
              f"together {row['together']} s, {row['ratio']}x", file=sys.stderr)

    lines = [
        "## P6 — conducts in parallel",
        "",
        f"{args.conducts} copies of the reliability fixture experiment (each its own name, instance "
        "and Namespace: a one-replica Deployment of the demo app, its Service, the checks, teardown) "
        "conducted at once against the tier-3 cluster (Kubernetes 1.20, one node) and one state dir: "
        f"as {args.conducts} `lab conduct` processes, and as one `lab conduct --parallel 16`. Ratio = "
        "wall time of all of them / wall time of one conduct alone, measured just before; cross-talk "
        "is looked for in each conduct's events and in the ledger; *left* counts the objects found "
        f"afterwards. 1-minute load average {min(loads):.1f} to {max(loads):.1f} on "
        f"{os.cpu_count()} cores. Goal <= {GOAL:.0f}.",
        "",
        "| mode | passed | alone | together | ratio | cross-talk | left | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, row in rows.items():
        lines.append(
            f"| {mode} | {row['passed']}/{row['conducts']} | {row['alone']} s | {row['together']} s | "
            f"{row['ratio']}x | {len(row['crossTalk'])} | {len(row['left'])} | <= {GOAL:.0f} |")
    steps = next(iter(rows.values())).get("aloneSteps") or {}
    if steps:
        lines += ["", "One conduct alone: " + ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in sorted(steps.items(), key=lambda kv: -kv[1]))
            + "."]
    failures = [f for row in rows.values() for f in row["failures"]]
    if failures:
        lines += ["", "Failures: " + "; ".join(failures[:5])]
    tier3.publish("p6-parallel", lines, write=not args.no_write)
    return rows


if __name__ == "__main__":
    main()
