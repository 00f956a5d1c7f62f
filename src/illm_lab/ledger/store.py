"""The run ledger: what every run touched, on disk, so `lab down` can always undo it.

Why: a run may die at any moment — Ctrl-C, SIGKILL, a lost laptop lid. Whatever it asked a
cluster to create must still be findable afterwards, so the ledger records the *intent* durably
before every cluster create and every apply, and the result after. `lab down` replays the runs of
an instance and removes what they left (see adrs/0004-ledger-based-teardown.md).

Layout: `<state dir>/runs/<run id>.json`, one file per run, and `<state dir>/locks/<instance>.lock`.

- Every write replaces the whole file atomically: a temporary file in the same directory (mode
  0600), fsync, rename over the old one, fsync the directory. A reader sees the old or the new
  file, never half of one. The engine batches: one write for the intents of a phase, one for its
  results, so a 300-object apply costs a handful of fsyncs.
- One run at a time per instance: `start` takes an exclusive `fcntl` lock held until the run
  ends (the kernel drops it when the process dies, so a killed run never leaves a stale lock).
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
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from illm_lab.base.errors import ConfigError, UsageError
from illm_lab.base.identity import ObjectRef
from illm_lab.base.paths import ensure_private_dir, state_dir
from illm_lab.catalog.params import masked
from illm_lab.model.experiment import Experiment

VERSION = 1
RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"
PRESENT_STATES = frozenset(
    {"apply-intent", "created", "configured", "unchanged", "failed", "skipped", "delete-intent"}
)
GONE_STATES = frozenset({"deleted", "gone"})
_RUN_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,200}$")


# -- shapes the ledger accepts from the engine (structural, so the ledger does not import it) --
class _Applying(Protocol):
    ref: ObjectRef
    component: str
    hash: str


class _Applied(Protocol):
    ref: ObjectRef
    component: str
    action: str
    hash: str
    live_hash: str | None
    uid: str | None
    resource_version: str | None
    error: str | None


class _Removed(Protocol):
    ref: ObjectRef
    action: str
    error: str | None


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class RunRecord:
    """One run as stored: plain data plus helpers."""

    data: dict[str, Any]
    path: Path | None = None

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def instance(self) -> str:
        return str(self.data["instance"])

    @property
    def experiment(self) -> str:
        return str(self.data["experiment"])

    @property
    def state(self) -> str:
        return str(self.data.get("state", RUNNING))

    @property
    def started(self) -> str:
        return str(self.data.get("started", ""))

    @property
    def clusters(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("clusters") or {})

    @property
    def objects(self) -> list[dict[str, Any]]:
        return list(self.data.get("objects") or [])

    def refs(self, role: str | None = None, *, present_only: bool = False) -> list[ObjectRef]:
        return [
            ObjectRef.from_dict(o) for o in self.objects
            if (role is None or o.get("cluster") == role)
            and (not present_only or o.get("state") in PRESENT_STATES)
        ]

    def live_hashes(self, role: str) -> dict[str, str]:
        """ObjectRef.key -> the live projection hash recorded after its last apply."""
        return {
            ObjectRef.from_dict(o).key: str(o["live_hash"]) for o in self.objects
            if o.get("cluster") == role and o.get("live_hash")
        }

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for o in self.objects:
            counts[str(o.get("state"))] = counts.get(str(o.get("state")), 0) + 1
        return {
            "id": self.id, "experiment": self.experiment, "instance": self.instance,
            "command": self.data.get("command"), "state": self.state, "started": self.started,
            "finished": self.data.get("finished"), "clusters": sorted(self.clusters),
            "objects": counts, "error": self.data.get("error"),
        }


@dataclass
class Outstanding:
    """What an instance still has on one cluster role, and how to reach that cluster."""

    role: str
    cluster: dict[str, Any]
    refs: list[ObjectRef] = field(default_factory=list)


class Ledger:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or state_dir()

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def locks_dir(self) -> Path:
        return self.root / "locks"

    def start(
        self, experiment: Experiment, params: dict[str, Any], *, instance: str, command: str
    ) -> Run:
        """Open a new run of `instance`, holding its lock; params are stored masked."""
        ensure_private_dir(self.runs_dir)
        lock = _Lock(ensure_private_dir(self.locks_dir) / f"{instance}.lock")
        lock.acquire(instance)
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
            run.save()
        except BaseException:
            lock.release()
            raise
        return run

    def load(self, run_id: str) -> RunRecord:
        if not _RUN_ID.match(run_id):  # a run id names a file in runs/, never a path
            raise UsageError(f"--run {run_id[:80]!r}: not a run id (see lab status)")
        path = self.runs_dir / f"{run_id}.json"
        if not path.is_file():
            raise UsageError(f"no run {run_id!r} in {self.runs_dir}")
        return _read(path)

    def runs(self, *, instance: str | None = None, experiment: str | None = None) -> list[RunRecord]:
        """Runs, newest first (optionally of one instance or experiment)."""
        if not self.runs_dir.is_dir():
            return []
        out = []
        for path in self.runs_dir.glob("*.json"):
            rec = _read(path)
            if instance is not None and rec.instance != instance:
                continue
            if experiment is not None and rec.experiment != experiment:
                continue
            out.append(rec)
        return sorted(out, key=lambda r: (r.started, r.id), reverse=True)

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
        result: dict[str, Outstanding] = {}
        present: dict[str, dict[str, ObjectRef]] = {}
        for rec in reversed(self.runs(instance=instance)):
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


class Run:
    """A run in progress: every method writes the ledger file before returning."""

    def __init__(self, path: Path, data: dict[str, Any], lock: _Lock) -> None:
        self.path = path
        self.data = data
        self._lock = lock
        self._mutex = threading.Lock()  # the engine records from worker threads
        self._index: dict[str, dict[str, Any]] = {}

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def record(self) -> RunRecord:
        return RunRecord(self.data, self.path)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.data["state"] == RUNNING:
                if exc is None:
                    self.finish(SUCCEEDED)
                elif isinstance(exc, KeyboardInterrupt):
                    self.finish(INTERRUPTED, error="interrupted")
                else:
                    self.finish(FAILED, error=str(exc)[:500])
        finally:
            self.close()

    def close(self) -> None:
        self._lock.release()

    # -- clusters --------------------------------------------------------------------------
    def cluster_intent(
        self,
        role: str,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        server: str | None = None,
        provider: str | None = None,
        name: str | None = None,
        create: bool = False,
    ) -> None:
        """Before creating (create=True) or using a cluster for `role`."""
        with self._mutex:
            entry = self.data["clusters"].setdefault(role, {})
            entry.update({k: v for k, v in {
                "kubeconfig": kubeconfig, "context": context, "server": server,
                "provider": provider, "name": name,
            }.items() if v is not None})
            # once a run meant to create the role's cluster, connecting to it later in the same
            # run must not make the ledger forget that lab owns it
            entry["create"] = bool(create or entry.get("create"))
            entry["state"] = "intent"
            self._save()

    def cluster_deleted(self, role: str, *, name: str, provider: str, kept: bool = False) -> None:
        """After deleting the cluster lab created for `role` (or deciding to keep it: `kept`)."""
        with self._mutex:
            entry = self.data["clusters"].setdefault(role, {})
            entry.update({"name": name, "provider": provider, "create": False,
                          "state": "kept" if kept else "deleted", "deletedAt": now()})
            self._save()

    def cluster_result(
        self, role: str, *, ok: bool, error: str | None = None, **details: Any
    ) -> None:
        with self._mutex:
            entry = self.data["clusters"].setdefault(role, {})
            entry.update({k: v for k, v in details.items() if v is not None})
            entry["state"] = "ready" if ok else "failed"
            if error:
                entry["error"] = error[:500]
            self._save()

    # -- objects ---------------------------------------------------------------------------
    def recorder(self, role: str) -> RoleRecorder:
        return RoleRecorder(self, role)

    def objects(self, role: str, updates: Iterable[tuple[ObjectRef, dict[str, Any]]]) -> None:
        """Merge `updates` into the object records of `role`, then write once."""
        with self._mutex:
            for ref, fields in updates:
                key = f"{role}|{ref.key}"
                entry = self._index.get(key)
                if entry is None:
                    entry = {"cluster": role, **ref.as_dict()}
                    self._index[key] = entry
                    self.data["objects"].append(entry)
                entry.update({k: v for k, v in fields.items() if v is not None})
                entry["at"] = now()
            self._save()

    # -- checks and the end ----------------------------------------------------------------
    def check_result(self, name: str, *, ok: bool, message: str = "", **details: Any) -> None:
        with self._mutex:
            self.data["checks"].append(
                {"name": name, "ok": ok, "message": message[:500], "at": now(), **details}
            )
            self._save()

    def finish(self, state: str = SUCCEEDED, error: str | None = None) -> None:
        with self._mutex:
            self.data["state"] = state
            self.data["finished"] = now()
            if error:
                self.data["error"] = error[:500]
            self._save()

    def save(self) -> None:
        with self._mutex:
            self._save()

    def _save(self) -> None:
        _write_atomic(self.path, self.data)


class RoleRecorder:
    """The engine's view of a run for one cluster role (`engine.apply.Recorder` and
    `engine.prune.DeleteRecorder`)."""

    def __init__(self, run: Run, role: str) -> None:
        self.run = run
        self.role = role

    def intend(self, desired: Sequence[_Applying]) -> None:
        self.run.objects(self.role, (
            (d.ref, {"component": d.component, "hash": d.hash, "state": "apply-intent"})
            for d in desired
        ))

    def applied(self, outcomes: Sequence[_Applied]) -> None:
        self.run.objects(self.role, (
            (o.ref, {"component": o.component, "hash": o.hash, "state": o.action,
                     "live_hash": o.live_hash, "uid": o.uid,
                     "resourceVersion": o.resource_version, "error": o.error})
            for o in outcomes
        ))

    def intend_delete(self, refs: list[ObjectRef]) -> None:
        self.run.objects(self.role, ((r, {"state": "delete-intent"}) for r in refs))

    def deleted(self, removals: Sequence[_Removed]) -> None:
        self.run.objects(self.role, (
            (r.ref, {"state": "delete-failed" if r.action == "failed" else r.action,
                     "error": r.error})
            for r in removals
        ))


class _Lock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, instance: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UsageError(
                f"another lab run of {instance!r} is in progress (pid {holder}); wait for it "
                "or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=1, sort_keys=False, default=str)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read(path: Path) -> RunRecord:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable ledger file ({type(exc).__name__})", where=str(path)) from None
    if not isinstance(data, dict) or "id" not in data:
        raise ConfigError("not a ledger run file", where=str(path))
    if int(data.get("version", VERSION)) > VERSION:
        raise ConfigError(
            f"ledger format version {data.get('version')} is newer than this lab understands "
            f"({VERSION}); upgrade lab", where=str(path),
        )
    return RunRecord(data, path)

