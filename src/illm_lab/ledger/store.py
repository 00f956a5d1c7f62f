"""The run ledger: what every run touched, on disk, so `lab down` can always undo it.

Why: a run may die at any moment — Ctrl-C, SIGKILL, a lost laptop lid. Whatever it asked a
cluster to create must still be findable afterwards, so the ledger records the *intent* durably
before every cluster create and every apply, and the result after. `lab down` replays the runs of
an instance and removes what they left (see adrs/0004-ledger-based-teardown.md and
adrs/0013-run-ledger-format-and-replay.md).

Layout: `<state dir>/runs/<run id>.json`, one file per run, and `<state dir>/locks/<instance>.lock`.
A run id is `<start time>-<instance>-<6 hex>`, so the file names are the ledger's index: a query
about one instance lists the folder and parses only that instance's files, newest first.

- Every write replaces the whole file atomically (`base.files.write_atomic`: a temporary file in
  the same directory, mode 0600, fsync, rename, fsync the directory). A reader sees the old or
  the new file, never half of one. The engine batches: one write for the intents of a phase, one
  for its results, so a 300-object apply costs a handful of fsyncs.
- One run at a time per instance: `start` takes an exclusive `fcntl` lock held until the run
  ends (the kernel drops it when the process dies, so a killed run never leaves a stale lock).
- A file that cannot be used — not JSON, truncated, damaged, written by a newer lab — is skipped
  and listed in `Ledger.problems` (callers warn, naming it); it never stops queries about the
  other runs. `load(run_id)` of such a file is still an error.
- Finished runs are parsed once per `Ledger` (they never change); a run still running is read
  again on every query.
- Retention: `start` forgets the instance's finished runs beyond the newest `keep` (20) that hold
  nothing any more (`retention.py`); a run with objects or a created cluster outstanding stays.
- Only identities and hashes: object apiVersion/kind/namespace/name, component, content hashes,
  uid, resourceVersion and error messages; params are stored masked (`params.masked`) and no
  object body, Secret data or credential is ever written. Clusters are recorded by kubeconfig
  path, context and server URL.

API (used by `lab apply`, conduct, hub and down):

    ledger = Ledger()                                   # <state dir>/runs
    with ledger.start(experiment, params, instance="x", command="apply") as run:
        run.cluster_intent("target", kubeconfig=..., context=..., server=..., create=False)
        run.cluster_result("target", ok=True, server=...)
        run.cluster_deleted("target", name=..., provider=...)   # a cluster lab created, removed
        rec = run.recorder("target")                    # handed to the engine
        rec.intend(desired); rec.applied(outcomes)      # objects: intent, then result
        rec.intend_delete(refs); rec.deleted(removals)
        run.check_result("app ready", ok=True, message="...")
        run.finish("succeeded")                         # or leave the block with an exception
    ledger.runs(instance="x")       # RunRecords, newest first
    ledger.latest("x")              # the newest run of the instance
    ledger.live_hashes("x", "target")  # drift baseline for the next apply
    ledger.outstanding("x")         # per cluster role: where it is and what is still there
    ledger.created_clusters("x")    # per role: the cluster lab created and has not deleted yet
    ledger.problems                 # run files skipped so far (Unreadable: path, problem)
"""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets
from pathlib import Path
from typing import Any

from illm_lab.base.errors import ConfigError, StorageError, UsageError
from illm_lab.base.identity import ObjectRef
from illm_lab.base.paths import ensure_private_dir, state_dir
from illm_lab.catalog.params import masked
from illm_lab.ledger import retention
from illm_lab.ledger.records import (
    FAILED,
    GONE_STATES,
    INTERRUPTED,
    PRESENT_STATES,
    RUN_ID,
    RUNNING,
    SUCCEEDED,
    VERSION,
    Outstanding,
    RunRecord,
    Unreadable,
    instance_of,
    now,
    read_run,
)
from illm_lab.ledger.run import Lock, RoleRecorder, Run
from illm_lab.model.experiment import Experiment

__all__ = [
    "FAILED", "GONE_STATES", "INTERRUPTED", "PRESENT_STATES", "RUNNING", "SUCCEEDED", "VERSION",
    "Ledger", "Outstanding", "RoleRecorder", "Run", "RunRecord", "Unreadable", "now",
]

_Stamp = tuple[int, int, int, int]


class Ledger:
    def __init__(self, root: Path | None = None, *, keep: int = retention.KEEP_FINISHED) -> None:
        self.root = root or state_dir()
        self.keep = keep
        self.problems: dict[Path, Unreadable] = {}  # files skipped so far, in the order met
        self._parsed: dict[Path, tuple[_Stamp, RunRecord]] = {}  # finished runs only

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def locks_dir(self) -> Path:
        return self.root / "locks"

    def start(
        self, experiment: Experiment, params: dict[str, Any], *, instance: str, command: str
    ) -> Run:
        """Open a new run of `instance`, holding its lock; params are stored masked. Old finished
        runs of the instance that hold nothing any more are forgotten first."""
        try:
            ensure_private_dir(self.runs_dir)
            lock = Lock(ensure_private_dir(self.locks_dir) / f"{instance}.lock")
            lock.acquire(instance)
        except OSError as exc:  # nothing is done before the run can be recorded
            raise StorageError(f"cannot write lab's state: {exc.strerror or exc}",
                               where=str(self.root)) from None
        stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        run_id = f"{stamp}-{instance}-{secrets.token_hex(3)}"
        data: dict[str, Any] = {
            "version": VERSION, "id": run_id, "experiment": experiment.metadata.name,
            "instance": instance, "command": command, "pid": os.getpid(), "started": now(),
            "finished": None, "state": RUNNING, "params": masked(experiment, params),
            "clusters": {}, "objects": [], "checks": [], "error": None,
        }
        run = Run(self.runs_dir / f"{run_id}.json", data, lock)
        try:
            with contextlib.suppress(OSError):  # retention is housekeeping, never a failure
                self.forget(instance)
            run.save()
        except BaseException:
            lock.release()
            raise
        return run

    def load(self, run_id: str) -> RunRecord:
        if not RUN_ID.match(run_id):  # a run id names a file in runs/, never a path
            raise UsageError(f"--run {run_id[:80]!r}: not a run id (see lab status)")
        path = self.runs_dir / f"{run_id}.json"
        if not path.is_file():
            raise UsageError(f"no run {run_id!r} in {self.runs_dir}")
        return read_run(path)

    def runs(self, *, instance: str | None = None, experiment: str | None = None) -> list[RunRecord]:
        """Runs, newest first (optionally of one instance or experiment). Files that cannot be
        used are skipped and added to `problems`."""
        out = []
        for path in self._files(instance):
            rec = self._read(path)
            if rec is None:
                continue
            if instance is not None and rec.instance != instance:
                continue
            if experiment is not None and rec.experiment != experiment:
                continue
            out.append(rec)
        return sorted(out, key=lambda r: (r.started, r.id), reverse=True)

    def unreadable(self, instance: str | None = None) -> list[Unreadable]:
        """The run files (of `instance`, or all) that cannot be used, by path."""
        for path in self._files(instance):
            self._read(path)
        return sorted(
            (u for u in self.problems.values() if instance is None or u.instance in (instance, None)),
            key=lambda u: str(u.path),
        )

    def latest(self, instance: str, *, role: str | None = None) -> RunRecord | None:
        """The newest run of `instance` (that touched `role`, when given)."""
        for rec in self.runs(instance=instance):
            if role is None or role in rec.clusters or rec.refs(role):
                return rec
        return None

    def live_hashes(self, instance: str, role: str) -> dict[str, str]:
        """ObjectRef.key -> the live projection hash after the object's latest apply, over all
        runs of `instance` (what `engine.apply` compares a live object with to see drift)."""
        merged: dict[str, str] = {}
        for rec in reversed(self.runs(instance=instance)):
            merged.update(rec.live_hashes(role))
        return merged

    def created_clusters(self, instance: str) -> dict[str, dict[str, Any]]:
        """Per role, the cluster the runs of `instance` created (or began to create: the intent
        is written before the create starts) and no later run deleted, replayed oldest first."""
        out: dict[str, dict[str, Any]] = {}
        for rec in reversed(self.runs(instance=instance)):
            for role, cluster in rec.clusters.items():
                if cluster.get("state") in ("deleted", "kept"):
                    out.pop(role, None)
                elif cluster.get("create") and cluster.get("name"):
                    out[role] = dict(cluster)
        return out

    def outstanding(self, instance: str) -> dict[str, Outstanding]:
        """Per cluster role, every object the runs of `instance` may have left, replayed oldest
        first (an intent counts as present: the run may have died after sending it)."""
        return replay_outstanding(self.runs(instance=instance))

    def forget(self, instance: str) -> list[Path]:
        """Delete the instance's finished runs beyond the newest `keep` that hold nothing any
        more (see retention.py); returns the files removed."""
        removed = []
        for rec in retention.forgettable(self.runs(instance=instance), self.keep):
            if rec.path is None:
                continue
            with contextlib.suppress(FileNotFoundError):
                rec.path.unlink()
            self._parsed.pop(rec.path, None)
            removed.append(rec.path)
        return removed

    # -- reading -----------------------------------------------------------------------------
    def _files(self, instance: str | None) -> list[Path]:
        """Run files, of `instance` when given (by name; a file lab did not name is included,
        its content decides)."""
        try:
            names = [n for n in os.listdir(self.runs_dir) if n.endswith(".json") and not n.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return []
        if instance is not None:
            names = [n for n in names if instance_of(n[:-5]) in (instance, None)]
        return [self.runs_dir / n for n in names]

    def _read(self, path: Path) -> RunRecord | None:
        """The run in `path`; None when it vanished (forgotten meanwhile) or cannot be used."""
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problems[path] = Unreadable(path, f"cannot read ledger file: {exc.strerror}")
            return None
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        known = self._parsed.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        try:
            rec = read_run(path)
        except ConfigError as exc:
            if not path.exists():
                return None
            self.problems[path] = Unreadable(path, exc.message)
            return None
        self.problems.pop(path, None)
        if rec.state != RUNNING:
            self._parsed[path] = (stamp, rec)
        return rec


def replay_outstanding(newest_first: list[RunRecord]) -> dict[str, Outstanding]:
    """`Ledger.outstanding` of the runs of one instance, given newest first."""
    result: dict[str, Outstanding] = {}
    present: dict[str, dict[str, ObjectRef]] = {}
    for rec in reversed(newest_first):
        for role, cluster in rec.clusters.items():
            entry = result.setdefault(role, Outstanding(role, {}))
            entry.cluster = {**entry.cluster, **cluster}
        for obj in rec.objects:
            role = str(obj.get("cluster"))
            ref = ObjectRef.from_dict(obj)
            refs = present.setdefault(role, {})
            if obj.get("state") in GONE_STATES:
                refs.pop(ref.key, None)
            else:
                refs[ref.key] = ref
            result.setdefault(role, Outstanding(role, {}))
    for role, refs in present.items():
        result[role].refs = sorted(refs.values())
    return result
