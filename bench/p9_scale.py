"""P9: scale — a conduct of 100, 1,000 and 3,000 objects, per object, against kubectl.

Each experiment holds the CustomResourceDefinitions of a real chart (by default Chaos Mesh's, 23
CRDs in 2.9 MB of YAML, taken from lab's chart cache; kube-prometheus-stack's are refused by
Kubernetes 1.20, the tier-3 cluster) and ConfigMaps, Secrets,
headless Services and 0-replica Deployments over one Namespace per 100 objects, all in one component
that is not waited for (`wait: false`). lab: `lab conduct --ci` — render, lint, apply, the
checks (none), teardown with every object confirmed gone. kubectl: `apply --server-side -f` of
the same objects, then `delete -f --wait` of them. Whole processes, wall time and peak RSS
(wait4); per object, and the growth of the per-object figure from the smallest size to the
largest (1.00 is flat; goal <= 1.2).

Usage: python bench/p9_scale.py (--kubeconfig K [--context C] | --local-cluster) [--sizes
       100,1000,3000] [--runs N] [--chart NAME] [--no-write]. Needs kubectl and the chart in the
       cache (`lab charts import`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from bench import tier3
from bench.engine_apply import objects
from bench.report import median
from bench.tier3 import lab_env
from illm_lab.base import yamlio


def crds(env: dict[str, str], chart: str) -> tuple[str, list[dict[str, Any]]]:
    """The CRDs shipped in the newest cached archive of `chart` (`lab charts list`)."""
    listing = subprocess.run([sys.executable, "-m", "illm_lab", "charts", "list", "-o", "json"],
                             capture_output=True, text=True, env=env, check=True).stdout
    entries = [e for e in json.loads(listing) if e["chart"] == chart]
    if not entries:
        raise SystemExit(f"{chart} is not in the chart cache ($LAB_CACHE_DIR): `lab charts import` it")
    entry = max(entries, key=lambda e: [int(p) if p.isdigit() else 0 for p in e["version"].split(".")])
    found: list[dict[str, Any]] = []
    with tarfile.open(entry["path"]) as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            if Path(member.name).parent.name == "crds" and member.name.endswith((".yaml", ".yml")):
                data = archive.extractfile(member)
                if data is not None:  # lab's loader: these CRDs hold a plain `=`, which
                    text = data.read().decode()  # PyYAML alone cannot construct
                    docs = yamlio.load_all(text, source=member.name, max_bytes=len(text.encode()) + 1)
                    found += [d.data for d in docs if isinstance(d.data, dict)
                              and d.data.get("kind") == "CustomResourceDefinition"]
    if not found:
        raise SystemExit(f"{chart} {entry['version']} ships no CRDs")
    return f"{chart} {entry['version']}", found


def write(root: Path, name: str, size: int, crd_docs: list[dict[str, Any]]) -> Path:
    """The experiment `name` of `size` objects (Namespaces and CRDs included), and the same
    objects as one file for kubectl; returns that file."""
    spaces = max(1, size // 100)
    names, objs = objects(name, size - spaces - len(crd_docs), spaces)
    for obj in objs:  # headless: a Service address each would exhaust a small service range
        if obj["kind"] == "Service":
            obj["spec"]["clusterIP"] = "None"
    folder = root / name
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    # one file per CRD and per 1,000 objects: a template file is at most 1 MB; {% raw %}: the
    # CRDs' descriptions hold text that reads as Jinja2
    files: dict[str, list[dict[str, Any]]] = {f"crd-{i}.yaml": [crd] for i, crd in enumerate(crd_docs)}
    files |= {f"objects-{i // 1000}.yaml": objs[i:i + 1000] for i in range(0, len(objs), 1000)}
    for file, docs in files.items():  # as JSON, the most compact YAML
        (folder / "manifests" / file).write_text(
            "{% raw %}\n" + "\n---\n".join(json.dumps(d, separators=(",", ":")) for d in docs)
            + "\n{% endraw %}\n")
    (folder / "experiment.yaml").write_text(yaml.safe_dump({
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": name, "title": "P9 benchmark objects", "phase": "1", "type": "benchmark"},
        "spec": {"namespaces": {ns: {} for ns in names},
                 "components": [{"name": "objects", "wait": False,
                                 "manifests": [f"manifests/{file}" for file in files]}]},
    }, sort_keys=False))
    docs = [*crd_docs, *objs]
    flat = root / f"{name}.kubectl.yaml"
    spaces_docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in names]
    flat.write_text(yaml.safe_dump_all([*spaces_docs, *docs], sort_keys=False))
    return flat


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one whole process, which must succeed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv[:6])} ... failed: {err[-1500:]}")
    return elapsed, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = tier3.parser(runs=3)
    options.add_argument("--sizes", default="100,1000,3000")
    options.add_argument("--chart", default="chaos-mesh")
    args = options.parse_args(argv)
    if args.local_cluster:
        return tier3.on_local_cluster(list(argv) if argv is not None else sys.argv[1:], main)
    if args.kubeconfig is None:
        options.error("give --kubeconfig or --local-cluster")
    kubectl = tier3.kubectl_or_exit("P9")
    sizes = [int(s) for s in args.sizes.split(",")]

    from tests.support.faultproxy import FaultProxy

    work = Path(tempfile.mkdtemp(prefix="lab-bench-p9-"))
    # both tools through a relay that adds nothing: the tier-3 endpoint delays each of kubectl's
    # requests by about 40 ms and not lab's (P2 explains why), which would flatter lab
    relay = FaultProxy(args.kubeconfig, context=args.context, workdir=work / "relay").start()
    args.kubeconfig, args.context = relay.kubeconfig, None
    env = lab_env(work)
    env["LAB_CACHE_DIR"] = os.environ.get("LAB_CACHE_DIR", str(Path.home() / ".cache" / "illm-lab"))
    source, crd_docs = crds(env, args.chart)
    target = tier3.target(args)
    kube = tier3.kubectl_argv(kubectl, args, work)
    lab = [sys.executable, "-m", "illm_lab", "-q", "--experiments-dir", str(work / "exp")]
    rows: dict[int, dict[str, list[float]]] = {}
    loads = [os.getloadavg()[0]]
    try:
        subprocess.run([*kube, "api-resources"], capture_output=True, env=env, check=True)
        for size in sizes:
            got: dict[str, list[float]] = {"lab s": [], "lab MiB": [], "kubectl s": [], "kubectl MiB": []}
            for i in range(args.runs):
                name = f"scale{size}-{i}-{os.getpid() % 1000}"
                flat = write(work / "exp", name, size, crd_docs)
                order = ["lab", "kubectl"] if i % 2 == 0 else ["kubectl", "lab"]
                for tool in order:
                    if tool == "lab":
                        seconds, mib = measured([*lab, "conduct", name, "--ci", *target], env)
                    else:
                        applied, mib = measured(
                            [*kube, "apply", "--server-side", "--field-manager", "kubectl-bench",
                             "-f", str(flat)], env)
                        deleted, mib2 = measured(
                            [*kube, "delete", "-f", str(flat), "--wait", "--ignore-not-found",
                             "--timeout=600s"], env)
                        seconds, mib = applied + deleted, max(mib, mib2)
                    got[f"{tool} s"].append(seconds)
                    got[f"{tool} MiB"].append(mib)
                loads.append(os.getloadavg()[0])
                print(f"{size} objects, run {i + 1}: lab {got['lab s'][-1]:.1f} s "
                      f"{got['lab MiB'][-1]:.0f} MiB, kubectl {got['kubectl s'][-1]:.1f} s "
                      f"{got['kubectl MiB'][-1]:.0f} MiB", file=sys.stderr)
            rows[size] = got
    finally:
        relay.stop()
        shutil.rmtree(work, ignore_errors=True)

    med = {size: {k: median(v) for k, v in got.items()} for size, got in rows.items()}
    small, large = sizes[0], sizes[-1]

    def growth(key: str) -> float:
        return (med[large][key] / large) / (med[small][key] / small)

    def marginal(key: str) -> float:
        low = (med[sizes[1]][key] - med[small][key]) / (sizes[1] - small)
        high = (med[large][key] - med[sizes[-2]][key]) / (large - sizes[-2])
        return high / low if low > 0 else float("inf")

    lines = [
        "## P9 — scale: a conduct of 100 to 3,000 objects",
        "",
        f"One component (`wait: false`) of the {len(crd_docs)} CRDs of {source} "
        f"({sum(len(json.dumps(c)) for c in crd_docs) / 2**20:.1f} MB as JSON) and "
        "ConfigMaps, Secrets, headless Services and 0-replica Deployments over one Namespace per 100 "
        "objects, on the tier-3 cluster (Kubernetes 1.20), both tools through a relay that "
        "adds nothing (the P2 control). lab: `lab conduct --ci` (render, lint, "
        "apply, teardown with every object confirmed gone); kubectl: `apply --server-side -f` "
        "then `delete -f --wait` of the same objects (time summed, peak RSS the larger). Whole "
        f"processes, median of {args.runs} interleaved runs per size; 1-minute load average "
        f"{min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores.",
        "",
        "| objects | lab | kubectl | ratio | lab ms/object | kubectl ms/object | lab peak RSS | "
        "kubectl peak RSS | lab KiB/object |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        m = med[size]
        lines.append(
            f"| {size:,} | {m['lab s']:.1f} s | {m['kubectl s']:.1f} s | "
            f"{m['lab s'] / m['kubectl s']:.2f} | {1000 * m['lab s'] / size:.1f} | "
            f"{1000 * m['kubectl s'] / size:.1f} | {m['lab MiB']:.0f} MiB | {m['kubectl MiB']:.0f} MiB | "
            f"{1024 * m['lab MiB'] / size:.1f} |")
    lines += [
        "",
        f"Growth of the per-object figure from {small:,} to {large:,} objects (1.00 is flat; "
        f"goal <= 1.2): lab time {growth('lab s'):.2f}, lab peak RSS {growth('lab MiB'):.2f}; "
        f"kubectl time {growth('kubectl s'):.2f}, kubectl peak RSS {growth('kubectl MiB'):.2f}.",
    ]
    if len(sizes) >= 3:  # the cost of one more object, net of what every run pays once
        lines.append(
            f"Net of that fixed cost — the cost per added object between the two largest sizes "
            f"over that between the two smallest: lab time {marginal('lab s'):.2f}, lab peak RSS "
            f"{marginal('lab MiB'):.2f}; kubectl time {marginal('kubectl s'):.2f}, kubectl peak "
            f"RSS {marginal('kubectl MiB'):.2f}.")
    tier3.publish("p9-scale", lines, write=not args.no_write)
    return {"growth time": growth("lab s"), "growth rss": growth("lab MiB")}


if __name__ == "__main__":
    main()
