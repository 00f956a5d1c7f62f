"""Run files as data: a parsed run (`RunRecord`), a file that cannot be read (`Unreadable`), and
the names of run files, which carry the run's start time and instance (the ledger's index).

A run file is trusted only after its shape is checked: JSON that parses but is truncated, hand
edited or written by a newer lab must become one message naming the file, never a KeyError in
the middle of `lab down`.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illm_lab.base.errors import ConfigError, InputError
from illm_lab.base.files import read_text
from illm_lab.base.identity import ObjectRef

VERSION = 1
RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"
PRESENT_STATES = frozenset(
    {"apply-intent", "created", "configured", "unchanged", "failed", "skipped", "delete-intent"}
)
GONE_STATES = frozenset({"deleted", "gone"})
CLUSTER_RELEASED = frozenset({"deleted", "kept"})  # a created cluster lab no longer owns
MAX_RUN_BYTES = 64 * 1024 * 1024  # a run of ~300,000 objects
RUN_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,200}$")
# `<start stamp>-<instance>-<6 hex>`, as `Ledger.start` names runs
_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{12}Z)-(?P<instance>.+)-(?P<token>[0-9a-f]{6})$")


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.lru_cache(maxsize=1 << 16)
def instance_of(run_id: str) -> str | None:
    """The instance a run id names (None for a file lab did not name)."""
    match = _NAME.match(run_id)
    return match.group("instance") if match else None


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


@dataclass(frozen=True)
class Unreadable:
    """A run file the ledger had to skip, and why."""

    path: Path
    problem: str

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def instance(self) -> str | None:
        return instance_of(self.path.stem)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass
class Outstanding:
    """What an instance still has on one cluster role, and how to reach that cluster."""

    role: str
    cluster: dict[str, Any]
    refs: list[ObjectRef] = field(default_factory=list)


def read_run(path: Path) -> RunRecord:
    """The run stored at `path`, or ConfigError naming the file and what is wrong with it."""
    try:
        text = read_text(path, what="ledger file", max_bytes=MAX_RUN_BYTES)
    except InputError as exc:
        raise ConfigError(exc.message, where=exc.where) from None
    try:
        data = json.loads(text)
    except ValueError as exc:  # not JSON, truncated, or a 5,000-digit number
        raise ConfigError(f"unreadable ledger file (not JSON: {str(exc)[:80]})", where=str(path)) from None
    problem = _shape_problem(data)
    if problem is not None:
        raise ConfigError(problem, where=str(path))
    return RunRecord(data, path)


def _shape_problem(data: Any) -> str | None:
    """Why `data` is not a run this lab can replay, or None."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return "not a ledger run file"
    version = data.get("version", VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        return f"not a ledger run file (version {str(version)[:20]!r})"
    if version > VERSION:
        return (f"ledger format version {version} is newer than this lab understands ({VERSION}); "
                "upgrade lab")
    for key in ("instance", "experiment"):
        if not isinstance(data.get(key), str):
            return f"not a ledger run file ({key} missing)"
    clusters = data.get("clusters") or {}
    if not isinstance(clusters, dict) or not all(isinstance(c, dict) for c in clusters.values()):
        return "damaged ledger file (clusters)"
    for key in ("objects", "checks"):
        items = data.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return f"damaged ledger file ({key})"
    for obj in data.get("objects") or []:
        if not (isinstance(obj.get("apiVersion"), str) and isinstance(obj.get("kind"), str)
                and isinstance(obj.get("name"), str)):
            return "damaged ledger file (an object without apiVersion, kind or name)"
    return None
