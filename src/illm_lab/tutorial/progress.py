"""Saved progress of a tutorial: which checkpoints the learner passed or skipped.

The session and `lab tutorial check` (from a second terminal) update the same file,
`<state dir>/tutorials/<instance>.json`: read-modify-write under an exclusive `fcntl` lock on a
sidecar `.lock` file, each write atomic and durable (`base.files.write_atomic`), mode 0600. After a
write, `check` nudges a running session with one UDP datagram to the loopback port the session
recorded, so the session re-reads the file at once instead of polling it.

Only names, states, check messages and where to reach the clusters are stored: never credentials
or secret params (`--set` values of secret params are dropped before saving).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illm_lab.base.errors import ConfigError, InputError
from illm_lab.base.files import NotFound, read_text, write_atomic
from illm_lab.base.paths import ensure_private_dir, state_dir

VERSION = 1
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
DONE = frozenset({PASSED, SKIPPED})


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Progress:
    experiment: str
    instance: str
    checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: str = field(default_factory=now)
    updated: str = field(default_factory=now)
    session: dict[str, Any] | None = None  # {"pid": ..., "notify": <udp port on 127.0.0.1>}
    targets: dict[str, dict[str, str | None]] = field(default_factory=dict)
    sets: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    def state(self, checkpoint: str) -> str | None:
        entry = self.checkpoints.get(checkpoint)
        return str(entry["state"]) if entry else None

    def first_open(self, order: list[str]) -> str | None:
        """The checkpoint the learner is on: the first one neither passed nor skipped."""
        return next((name for name in order if self.state(name) not in DONE), None)

    def count(self, state: str, order: list[str]) -> int:
        return sum(1 for name in order if self.state(name) == state)

    def record(
        self,
        checkpoint: str,
        state: str,
        *,
        by: str,
        message: str = "",
        diagnostics: list[str] | None = None,
    ) -> None:
        self.checkpoints[checkpoint] = {
            "state": state, "at": now(), "by": by, "message": message[:500],
            "diagnostics": [line[:300] for line in (diagnostics or [])[:20]],
        }

    @property
    def session_alive(self) -> bool:
        pid = int((self.session or {}).get("pid") or 0)
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": VERSION, "experiment": self.experiment, "instance": self.instance,
            "started": self.started, "updated": self.updated, "session": self.session,
            "targets": self.targets, "sets": self.sets, "values": self.values,
            "checkpoints": self.checkpoints,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        return cls(
            experiment=str(data["experiment"]), instance=str(data["instance"]),
            checkpoints=dict(data.get("checkpoints") or {}), started=str(data.get("started") or now()),
            updated=str(data.get("updated") or now()), session=data.get("session"),
            targets=dict(data.get("targets") or {}), sets=list(data.get("sets") or []),
            values=list(data.get("values") or []),
        )


class ProgressStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or state_dir() / "tutorials"

    def path(self, instance: str) -> Path:
        return self.root / f"{instance}.json"

    def load(self, instance: str) -> Progress | None:
        path = self.path(instance)
        try:
            text = read_text(path, what="tutorial progress")
        except NotFound:
            return None
        except InputError as exc:
            raise ConfigError(exc.message, where=exc.where) from None
        try:
            data = json.loads(text)
            if int(data.get("version", VERSION)) > VERSION:
                raise ConfigError("tutorial progress written by a newer lab; upgrade lab", where=str(path))
            return Progress.from_dict(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ConfigError("not a tutorial progress file", where=str(path)) from None

    def all(self) -> list[Progress]:
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.glob("*.json")):
            progress = self.load(path.stem)
            if progress is not None:
                found.append(progress)
        return found

    @contextlib.contextmanager
    def update(self, instance: str, experiment: str | None = None) -> Iterator[Progress]:
        """Read, let the caller change, write back — all under the instance's lock. A missing
        file is created when `experiment` is given."""
        ensure_private_dir(self.root)
        fd = os.open(self.root / f"{instance}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            progress = self.load(instance)
            if progress is None:
                if experiment is None:
                    raise ConfigError(f"no tutorial progress for {instance}")
                progress = Progress(experiment=experiment, instance=instance)
            yield progress
            progress.updated = now()
            write_atomic(self.path(instance), json.dumps(progress.as_dict(), indent=1))
        finally:
            os.close(fd)  # releases the lock

    def reset(self, instance: str) -> bool:
        ensure_private_dir(self.root)
        fd = os.open(self.root / f"{instance}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                self.path(instance).unlink()
            except FileNotFoundError:
                return False
            return True
        finally:
            os.close(fd)


def notify(progress: Progress) -> bool:
    """Tell a running session its progress changed (one datagram to 127.0.0.1); True if sent."""
    port = int((progress.session or {}).get("notify") or 0)
    if not port or not progress.session_alive:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(b"progress", ("127.0.0.1", port))
        except OSError:
            return False
    return True


def passed_by_experiment(store: ProgressStore | None = None) -> tuple[dict[str, set[str]], list[str]]:
    """The checkpoints the learner passed, per experiment, over every saved instance (a
    checkpoint passed in any of them counts), for `lab roadmap`. A progress file that cannot be
    read is returned as a problem, not raised: it must not stop the roadmap's count."""
    store = store or ProgressStore()
    passed: dict[str, set[str]] = {}
    problems: list[str] = []
    if not store.root.is_dir():
        return passed, problems
    for path in sorted(store.root.glob("*.json")):
        try:
            progress = store.load(path.stem)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if progress is None:
            continue
        names = passed.setdefault(progress.experiment, set())
        names.update(name for name, entry in progress.checkpoints.items() if entry.get("state") == PASSED)
    return passed, problems
