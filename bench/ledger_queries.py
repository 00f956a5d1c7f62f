"""P9: ledger queries over 2,000 run files — the ledger as it reads now vs parsing every run file
on every query (how it read before: `runs()` globbed and parsed the whole folder each time, and
`lab status` replayed every instance through a fresh `runs()`).

A state folder of `--instances` instances with `--runs-each` finished runs each (10 objects and one
cluster per run; 100 x 20 = 2,000 files) is written once; each query then runs with a fresh
`Ledger` (as a new `lab` process would), old and new interleaved, median of `--runs`. Queries:
`lab status` (every row and each instance's deployed count), `lab status <experiment>`, what
`lab down` reads (outstanding objects and created clusters of one instance) and what `lab apply`
reads (outstanding objects and the drift baseline). A last figure shows retention: 2,000 runs of
one instance, then one `start`, and how many run files are left.

Usage: python bench/ledger_queries.py [--instances N] [--runs-each N] [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, update_section
from illm_lab.base.identity import ObjectRef
from illm_lab.ledger import Ledger
from illm_lab.ledger.retention import KEEP_FINISHED
from illm_lab.ledger.status import rows as status_rows

OBJECTS = 10


# -- the read path as it was: every query parses every file ------------------------------------
def _old_runs(
    runs_dir: Path, instance: str | None = None, experiment: str | None = None
) -> list[dict[str, Any]]:
    out = []
    for path in runs_dir.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if instance is not None and data["instance"] != instance:
            continue
        if experiment is not None and data["experiment"] != experiment:
            continue
        out.append(data)
    return sorted(out, key=lambda r: (r.get("started", ""), r["id"]), reverse=True)


def _old_outstanding(runs_dir: Path, instance: str) -> dict[str, dict[str, ObjectRef]]:
    present: dict[str, dict[str, ObjectRef]] = {}
    for rec in reversed(_old_runs(runs_dir, instance=instance)):
        for obj in rec.get("objects") or []:
            ref = ObjectRef.from_dict(obj)
            refs = present.setdefault(str(obj.get("cluster")), {})
            if obj.get("state") in ("deleted", "gone"):
                refs.pop(ref.key, None)
            else:
                refs[ref.key] = ref
    return present


def _old_created(runs_dir: Path, instance: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rec in reversed(_old_runs(runs_dir, instance=instance)):
        for role, cluster in (rec.get("clusters") or {}).items():
            if cluster.get("state") in ("deleted", "kept"):
                out.pop(role, None)
            elif cluster.get("create") and cluster.get("name"):
                out[role] = cluster
    return out


def _old_live_hashes(runs_dir: Path, instance: str, role: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for rec in reversed(_old_runs(runs_dir, instance=instance)):
        for obj in rec.get("objects") or []:
            if obj.get("cluster") == role and obj.get("live_hash"):
                merged[ObjectRef.from_dict(obj).key] = str(obj["live_hash"])
    return merged


def _old_status(runs_dir: Path, experiment: str | None = None) -> int:
    rows, left = 0, {}
    for rec in _old_runs(runs_dir, experiment=experiment):
        if rec["instance"] not in left:
            left[rec["instance"]] = sum(len(r) for r in _old_outstanding(runs_dir, rec["instance"]).values())
        rows += 1
    return rows


# -- a state folder of finished runs, in the ledger's format -------------------------------------
def _experiment() -> Any:
    from illm_lab.model.experiment import Experiment

    return Experiment.model_validate({
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": "demo", "title": "ledger bench", "phase": "1", "type": "demo"},
    })


def _populate(root: Path, instances: int, runs_each: int) -> None:
    """Finished runs as `Ledger.start` ... `finish` leaves them (written without fsync: the
    queries are what is measured)."""
    runs_dir = root / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    for i in range(instances):
        instance = f"exp{i:03d}"
        for r in range(runs_each):
            stamp = f"2026010{1 + r // 1000 % 9}T{r % 1000:06d}000000Z"
            started = f"2026-01-0{1 + r // 1000 % 9}T00:{r % 1000 // 60:02d}:{r % 60:02d}.000000Z"
            run_id = f"{stamp}-{instance}-{i % 256:02x}{r % 65536:04x}"
            objects = [
                {"cluster": "target", **ObjectRef("v1", "ConfigMap", f"cm{n}", "demo").as_dict(),
                 "component": "app", "hash": "h", "state": "unchanged" if r else "created",
                 "live_hash": f"L{r}", "uid": "u", "resourceVersion": "1", "at": started}
                for n in range(OBJECTS)
            ]
            data = {
                "version": 1, "id": run_id, "experiment": "demo" if i % 10 == 0 else f"x{i:03d}",
                "instance": instance, "command": "apply", "pid": 1, "started": started,
                "finished": started, "state": "succeeded", "params": {},
                "clusters": {"target": {"kubeconfig": "/k", "context": "ctx", "create": False,
                                        "server": "https://127.0.0.1:6443", "state": "ready"}},
                "objects": objects,
                "checks": [{"name": "ready", "ok": True, "message": "fine", "at": started}],
                "error": None,
            }
            (runs_dir / f"{run_id}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _down_reads(ledger: Ledger, instance: str) -> object:
    return ledger.outstanding(instance), ledger.created_clusters(instance), ledger.unreadable(instance)


def _apply_reads(ledger: Ledger, instance: str) -> object:
    return ledger.outstanding(instance), ledger.live_hashes(instance, "target")


def _queries(root: Path) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    runs_dir = root / "runs"
    one = "exp007"
    return {
        "lab status": (lambda: _old_status(runs_dir), lambda: status_rows(Ledger(root))),
        "lab status <experiment>": (
            lambda: _old_status(runs_dir, "demo"), lambda: status_rows(Ledger(root), "demo")),
        "lab down (reads)": (
            lambda: (_old_outstanding(runs_dir, one), _old_created(runs_dir, one)),
            lambda: _down_reads(Ledger(root), one)),
        "lab apply (reads)": (
            lambda: (_old_outstanding(runs_dir, one), _old_live_hashes(runs_dir, one, "target")),
            lambda: _apply_reads(Ledger(root), one)),
    }


def _retention(root: Path, runs_each: int) -> tuple[int, int]:
    _populate(root, 1, runs_each)
    before = len(list((root / "runs").glob("*.json")))
    with Ledger(root).start(_experiment(), {}, instance="exp000", command="apply"):
        pass
    return before, len(list((root / "runs").glob("*.json")))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--runs-each", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lab-ledger-bench-") as tmp:
        root = Path(tmp) / "state"
        _populate(root, args.instances, args.runs_each)
        files = len(list((root / "runs").glob("*.json")))
        samples: dict[str, tuple[list[float], list[float]]] = {}
        for name, (old, new) in _queries(root).items():
            old_t, new_t = samples.setdefault(name, ([], []))
            for _ in range(args.runs):
                old_t.append(_time(old))
                new_t.append(_time(new))
        kept = _retention(Path(tmp) / "one", args.instances * args.runs_each)
    loads = sorted((load_before, os.getloadavg()[0]))
    ratios = {k: median(n) / median(o) for k, (o, n) in samples.items()}
    rows = [f"| `{k}` | {median(o) * 1000:.1f} ms | {median(n) * 1000:.1f} ms | {ratios[k]:.3f} |"
            for k, (o, n) in samples.items()]
    body = "\n".join([
        "## P11 — ledger queries over many runs",
        "",
        f"{files} run files ({args.instances} instances x {args.runs_each} finished runs, "
        f"{OBJECTS} objects each); each query with a fresh `Ledger`, as a new process; median "
        f"of {args.runs} interleaved runs (ratio = now / parsing every file on every query, "
        f"as before); {os.cpu_count()} CPUs, 1-minute load average {loads[0]:.1f} to {loads[1]:.1f}.",
        "",
        "| query | every file, every query (before) | now | ratio |",
        "|---|---|---|---|",
        *rows,
        "",
        f"Retention: {kept[0]} finished runs of one instance, each re-recording the same objects "
        f"(so the older ones hold nothing); when its next run starts, {kept[1]} run files remain "
        f"(the newest {KEEP_FINISHED} finished runs and the new one).",
    ])
    if not args.no_write:
        update_section("ledger-queries", body)
    print(body)
    return ratios


if __name__ == "__main__":
    main()
