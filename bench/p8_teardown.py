"""P8: teardown — `lab down` vs `kubectl delete -f <the same objects> --wait`, whole processes.

A three-component experiment of 9 objects in a Namespace lab creates (so lab owns it): a
ConfigMap, a Secret and a ServiceAccount (component `config`), a two-replica Deployment and its
Service (`web`), a one-replica Deployment, its Service and a ConfigMap (`worker`). Each
iteration deploys two copies under fresh names, one with `lab apply` and one with
`kubectl apply --server-side` (not timed), waits until both are ready, then times `lab down` of
the first and `kubectl delete -f <the same rendered objects> --wait` of the second, in
alternating order (interleaved). The figure is the ratio of the medians; goal <= 0.5.

Usage: python bench/p8_teardown.py (--kubeconfig K [--context C] | --local-cluster) [--runs N]
       [--no-write]. `--local-cluster` starts the tier-3 cluster (`scripts/local-cluster up`, root
       only) for the run and removes it afterwards. Needs kubectl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from bench.report import median, update_section

REPO = Path(__file__).resolve().parents[1]
IMAGE = "lab.local/labapp:1"
GRACE = 30  # the Kubernetes default terminationGracePeriodSeconds; labapp exits on SIGTERM


def _deployment(name: str, ns: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "terminationGracePeriodSeconds": GRACE,
                         "containers": [{"name": "app", "image": IMAGE, "imagePullPolicy": "Never",
                                         "ports": [{"containerPort": 9898, "protocol": "TCP"}],
                                         "resources": {"requests": {"cpu": "5m", "memory": "8Mi"}}}]}}}}


def _service(name: str, ns: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name},
                     "ports": [{"port": 80, "targetPort": 9898, "protocol": "TCP"}]}}


def components(ns: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "config": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns},
             "data": {"level": "info"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token", "namespace": ns},
             "type": "Opaque", "stringData": {"token": "bench"}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner", "namespace": ns}},
        ],
        "web": [_deployment("web", ns, 2), _service("web", ns)],
        "worker": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "worker", "namespace": ns},
             "data": {"queue": "jobs"}},
            _deployment("worker", ns, 1), _service("worker", ns),
        ],
    }


def write_experiment(root: Path, name: str, ns: str) -> None:
    folder = root / name
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    parts = components(ns)
    manifest = {
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": name, "title": "P8 benchmark objects", "phase": "1", "type": "benchmark"},
        "spec": {"namespaces": {ns: {}},
                 "components": [{"name": comp, "namespace": ns,
                                 "manifests": [f"manifests/{comp}.yaml"]} for comp in parts]},
    }
    (folder / "experiment.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    for comp, objs in parts.items():
        (folder / "manifests" / f"{comp}.yaml").write_text(yaml.safe_dump_all(objs, sort_keys=False))


def kubectl_file(path: Path, ns: str) -> None:
    objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
    for part in components(ns).values():
        objs += part
    path.write_text(yaml.safe_dump_all(objs, sort_keys=False))


def run(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} ... failed ({result.returncode}):\n"
                         f"{result.stdout[-1000:]}{result.stderr[-2000:]}")
    return elapsed


def with_local_cluster(argv: list[str]) -> dict[str, float]:
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


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--local-cluster", action="store_true")
    parser.add_argument("--context")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.local_cluster:
        return with_local_cluster(list(argv) if argv is not None else sys.argv[1:])
    if args.kubeconfig is None:
        parser.error("give --kubeconfig or --local-cluster")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("kubectl not found: P8 needs it as the baseline")

    work = Path(tempfile.mkdtemp(prefix="lab-bench-p8-"))
    env = {**os.environ, "LAB_STATE_DIR": str(work / "state"), "LAB_CACHE_DIR": str(work / "cache"),
           "LAB_CONFIG": str(work / "config.yaml"), "HOME": str(work / "home"),
           "PYTHONPATH": str(REPO / "src"), "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "illm_lab")],
                   env=env, capture_output=True, check=True)
    kube = [kubectl, "--kubeconfig", str(args.kubeconfig), "--cache-dir", str(work / "kcache"),
            *(["--context", args.context] if args.context else [])]
    lab = [sys.executable, "-m", "illm_lab", "-q", "--experiments-dir", str(work / "exp")]
    target = ["--kubeconfig", str(args.kubeconfig), *(["--context", args.context] if args.context else [])]
    samples: dict[str, list[float]] = {"lab": [], "kubectl": []}
    loads = [os.getloadavg()[0]]
    leftovers: list[str] = []
    try:
        subprocess.run([*kube, "api-resources"], capture_output=True, env=env, check=True)
        for i in range(args.runs):
            tag = f"p8{i}-{os.getpid() % 10000}"
            name, lab_ns, k_ns = f"bench-{tag}", f"{tag}-lab", f"{tag}-kubectl"
            leftovers += [lab_ns, k_ns]
            write_experiment(work / "exp", name, lab_ns)
            path = work / f"{tag}.yaml"
            kubectl_file(path, k_ns)
            run([*lab, "apply", name, *target], env)  # waits for the Deployments
            run([*kube, "apply", "--server-side", "--field-manager", "kubectl-bench", "-f", str(path)], env)
            for dep in ("web", "worker"):
                run([*kube, "-n", k_ns, "rollout", "status", f"deployment/{dep}", "--timeout=120s"], env)
            order = ["lab", "kubectl"] if i % 2 == 0 else ["kubectl", "lab"]
            for tool in order:
                if tool == "lab":
                    samples["lab"].append(run([*lab, "down", name], env))
                else:
                    samples["kubectl"].append(
                        run([*kube, "delete", "-f", str(path), "--wait", "--timeout=300s"], env))
            leftovers = leftovers[:-2]
            loads.append(os.getloadavg()[0])
            print(f"run {i + 1}: lab {samples['lab'][-1]:.2f} s, "
                  f"kubectl {samples['kubectl'][-1]:.2f} s", file=sys.stderr)
    finally:
        for ns in leftovers:
            subprocess.run([*kube, "delete", "namespace", ns, "--ignore-not-found", "--wait=false"],
                           capture_output=True, env=env, check=False)
        shutil.rmtree(work, ignore_errors=True)

    med = {k: median(v) for k, v in samples.items()}
    ratio = med["lab"] / med["kubectl"]
    lines = [
        "## P8 — teardown: `lab down` vs `kubectl delete -f --wait`",
        "",
        f"A three-component experiment of 9 objects (2 Deployments with 3 running pods, "
        f"terminationGracePeriodSeconds {GRACE}; 2 Services, 2 ConfigMaps, a Secret, a "
        f"ServiceAccount) in a Namespace it creates, on the tier-3 cluster (Kubernetes 1.20); "
        f"whole processes, median of {args.runs} interleaved runs (order alternating); kubectl "
        f"deletes the same objects plus the Namespace from one file and waits; 1-minute load "
        f"average {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores.",
        "",
        "| `lab down` | `kubectl delete -f --wait` | ratio | goal |",
        "|---|---|---|---|",
        f"| {med['lab']:.2f} s | {med['kubectl']:.2f} s | {ratio:.2f} | <= 0.5 |",
        "",
        "Samples (s): lab " + ", ".join(f"{v:.2f}" for v in samples["lab"])
        + "; kubectl " + ", ".join(f"{v:.2f}" for v in samples["kubectl"]) + ".",
    ]
    if not args.no_write:
        update_section("p8-teardown", "\n".join(lines))
    print("\n".join(lines))
    return {"ratio": ratio, **med}


if __name__ == "__main__":
    main()
