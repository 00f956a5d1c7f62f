"""A run in progress: every method writes the run's file before it returns.

`Ledger.start` opens a `Run` holding the instance's lock; the engine records into it through a
`RoleRecorder` per cluster role (intents before requests, results after, one write per phase).
Each write replaces the whole file with `base.files.write_atomic` (temporary file, fsync, rename,
fsync of the folder), so a crash at any instant leaves the previous complete version.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from illm_lab.base.errors import UsageError
from illm_lab.base.files import write_atomic
from illm_lab.base.identity import ObjectRef
from illm_lab.ledger.records import FAILED, INTERRUPTED, RUNNING, SUCCEEDED, RunRecord, now


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


class Run:
    """A run in progress: every method writes the ledger file before returning."""

    def __init__(self, path: Path, data: dict[str, Any], lock: Lock) -> None:
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
                    state, error = SUCCEEDED, None
                elif isinstance(exc, KeyboardInterrupt):
                    state, error = INTERRUPTED, "interrupted"
                else:
                    state, error = FAILED, str(exc)[:500]
                try:
                    self.finish(state, error=error)
                except KeyboardInterrupt:
                    # Ctrl-C (or SIGTERM) landed while the end was being written: write it
                    # again as what the process now is, interrupted, so no run stays `running`.
                    self.finish(INTERRUPTED, error="interrupted")
                    raise
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
        write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=False, default=str))


class RoleRecorder:
    """The engine's view of a run for one cluster role (`engine.apply.ApplyJournal` and
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


class Lock:
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
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            os.close(fd)  # releases the lock
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
