"""P3: readiness detection latency, and the client path the engine uses — both on tier 2.

Latency: a Deployment waits not ready; another client (the emulator's controller API, playing
kube-controller-manager) writes its ready status; we measure from just before that write to the
moment `engine.wait.wait_for` returns. Goal: median <= 0.1 s. A polling implementation would
show its poll interval here; a watch shows one event's delivery time.

Client path: the same GETs and server-side applies through the official `DynamicClient` and
through `kube.Cluster` (one urllib3 pool with plain JSON, built from lab's own kubeconfig reader),
side by side, as the evidence for adrs/0002 and adrs/0020.

Usage: python bench/readiness_latency.py [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, update_section


def deployment(name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


def latency(emu: Any, runs: int) -> list[float]:
    from illm_lab import kube
    from illm_lab.base.identity import ObjectRef
    from illm_lab.engine import readiness
    from illm_lab.engine.wait import wait_for

    out: list[float] = []
    with kube.connect(emu.kubeconfig, "emulator") as cluster, ThreadPoolExecutor(1) as pool:
        for i in range(runs):
            name = f"p3-{i}"
            emu.create(deployment(name))
            ref = ObjectRef("apps/v1", "Deployment", name, "default")
            seen = pool.submit(lambda r=ref: (wait_for(cluster, r, readiness.deployment,
                                                       deadline=time.monotonic() + 30),
                                              time.perf_counter()))
            # the watch is open once the emulator has a watcher for deployments: wait for it
            # through the request log (a condition, not a fixed delay)
            deadline = time.monotonic() + 10
            while not any(r.is_watch and "/deployments" in r.path and f"metadata.name%3D{name}" in
                          _query(r) for r in emu.requests):
                if time.monotonic() > deadline:
                    raise SystemExit("the wait never opened its watch")
                time.sleep(0.001)
            t0 = time.perf_counter()
            emu.set_status("apps/v1", "Deployment", "default", name, {
                "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                "availableReplicas": 1})
            _, t1 = seen.result(30)
            out.append(t1 - t0)
    return out


def _query(request: Any) -> str:
    from urllib.parse import urlencode

    return urlencode(request.query)


def client_paths(emu: Any, runs: int) -> dict[str, float]:
    """Seconds for `runs` GETs and `runs` server-side applies per client."""
    from kubernetes.dynamic import DynamicClient

    from illm_lab import kube

    out: dict[str, float] = {}
    api = emu.api_client()
    with tempfile.TemporaryDirectory() as cache:  # a cold discovery cache, as in a fresh process
        t0 = time.perf_counter()
        dyn = DynamicClient(api, cache_file=str(Path(cache) / "discovery.json"))
        cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
        cms.get(namespace="default")
        out["dynamic first"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with kube.connect(emu.kubeconfig, "emulator") as first:
        first.list("v1", "ConfigMap", "default")
    out["lab first"] = time.perf_counter() - t0
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"},
            "data": {"k": "v"}}
    t0 = time.perf_counter()
    for i in range(runs):
        cms.server_side_apply(body={**body, "metadata": {**body["metadata"], "name": f"d{i}"}},
                              name=f"d{i}", namespace="default", field_manager="bench")
    out["dynamic apply"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(runs):
        cms.get(name=f"d{i}", namespace="default")
    out["dynamic get"] = time.perf_counter() - t0
    with kube.connect(emu.kubeconfig, "emulator") as cluster:
        t0 = time.perf_counter()
        for i in range(runs):
            cluster.apply({**body, "metadata": {**body["metadata"], "name": f"l{i}"}})
        out["lab apply"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(runs):
            cluster.get("v1", "ConfigMap", f"l{i}", "default")
        out["lab get"] = time.perf_counter() - t0
    api.close()
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo))
    from tests.support.emulator import LabEmulator

    with tempfile.TemporaryDirectory(prefix="lab-bench-p3-") as work, \
            LabEmulator().start(Path(work) / "emu") as emu:
        samples = latency(emu, args.runs)
        paths = client_paths(emu, max(10, args.runs * 5))
    med = median(samples)
    n = max(10, args.runs * 5)
    lines = [
        "## P3 — readiness detection latency (tier 2)",
        "",
        f"From another client's status write to `wait_for` returning, {args.runs} Deployments, one at "
        "a time, on the API emulator; goal: median <= 0.1 s.",
        "",
        "| median | max | goal |",
        "|---|---|---|",
        f"| {med * 1000:.1f} ms | {max(samples) * 1000:.1f} ms | <= 100 ms |",
        "",
        f"Client path, {n} requests each, serial, same emulator (ratio = lab / dynamic client):",
        "",
        "| operation | `DynamicClient` | `kube.Cluster` | ratio |",
        "|---|---|---|---|",
        f"| connect + first LIST (cold discovery) | {paths['dynamic first']:.3f} s | "
        f"{paths['lab first']:.3f} s | {paths['lab first'] / paths['dynamic first']:.2f} |",
        f"| GET | {paths['dynamic get']:.3f} s | {paths['lab get']:.3f} s | "
        f"{paths['lab get'] / paths['dynamic get']:.2f} |",
        f"| server-side apply | {paths['dynamic apply']:.3f} s | {paths['lab apply']:.3f} s | "
        f"{paths['lab apply'] / paths['dynamic apply']:.2f} |",
    ]
    if not args.no_write:
        update_section("readiness-latency", "\n".join(lines))
    print("\n".join(lines))
    return {"median": med, "get ratio": paths["lab get"] / paths["dynamic get"],
            "apply ratio": paths["lab apply"] / paths["dynamic apply"]}


if __name__ == "__main__":
    main()
