"""The chart cache: pinned chart archives pulled once and shared by every run.

Layout under `<lab cache dir>/charts/`:

    blobs/sha256/<digest>.tgz   chart archives, named by their content
    refs/<key>.json             a pinned reference (key = sha256 of repo/oci, chart, version)
                                -> the digest of its archive, and when it was pulled
    locks/<key>.lock            one lock per reference, so parallel runs pull it once
    tmp/                        work folders of pulls in progress

Every write is atomic and durable (`base.files.write_atomic`: a temporary file beside the
target, fsync, rename, fsync of the folder), so a reader sees a complete entry or none, even
after a crash. A reader verifies the archive's digest; a damaged entry counts as missing. Pulls
hold the reference's lock (`flock`, POSIX); a second process waits for it — the wait is bounded
by the holder's own pull timeout — and then finds the entry already there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from illm_lab.base import paths
from illm_lab.base.errors import InputError, ToolError
from illm_lab.base.files import read_bytes, read_text, write_atomic
from illm_lab.charts.reference import ChartRef
from illm_lab.tools import helm

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024  # the largest charts of the catalog are a few MB


class ChartNotCached(ToolError):
    """Offline, and the chart is not in the cache."""


@dataclass(frozen=True)
class CachedChart:
    ref: ChartRef
    digest: str  # "sha256:<hex>"
    path: Path  # the archive
    size: int
    pulled_at: str
    origin: str = "pulled"  # "pulled", or "imported from <path>"

    def as_dict(self) -> dict[str, Any]:
        return {**self.ref.as_dict(), "digest": self.digest, "size": self.size,
                "pulledAt": self.pulled_at, "origin": self.origin, "path": str(self.path)}

    @property
    def short_digest(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]


class ChartCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else paths.cache_dir() / "charts"

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, ref: ChartRef) -> CachedChart | None:
        """The cached archive of `ref`, verified; None when absent or damaged."""
        return self._read_ref(self.root / "refs" / f"{ref.key}.json", expect=ref)

    def entries(self) -> list[CachedChart]:
        """Every valid entry, sorted by chart name and version."""
        refs = self.root / "refs"
        found = [self._read_ref(p) for p in sorted(refs.glob("*.json"))] if refs.is_dir() else []
        return sorted((c for c in found if c is not None),
                      key=lambda c: (c.ref.chart, c.ref.version, c.ref.location))

    def _read_ref(self, path: Path, expect: ChartRef | None = None) -> CachedChart | None:
        try:
            data = json.loads(read_text(path, what="chart cache entry"))
            ref = ChartRef.from_dict(data["ref"])
            digest = str(data["digest"])
            pulled_at = str(data.get("pulledAt", ""))
            origin = str(data.get("origin", "pulled"))
        except (InputError, OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is a miss; the next pull rewrites it
        if expect is not None and ref != expect:
            return None
        blob = self._blob(digest)
        try:
            if _digest_of(blob) != digest:
                return None
            size = blob.stat().st_size
        except OSError:
            return None
        return CachedChart(ref=ref, digest=digest, path=blob, size=size, pulled_at=pulled_at,
                           origin=origin)

    def _blob(self, digest: str) -> Path:
        algo, _, hexdigest = digest.partition(":")
        return self.root / "blobs" / algo / f"{hexdigest}.tgz"

    # -- writing -----------------------------------------------------------------------------

    def add(self, ref: ChartRef, archive: Path, *, origin: str = "pulled") -> CachedChart:
        """Store `archive` as the content of `ref` (atomically) and return the entry."""
        self._dirs()
        digest = _digest_of(archive)
        blob = self._blob(digest)
        if not blob.is_file() or _digest_of(blob) != digest:
            blob.parent.mkdir(parents=True, exist_ok=True)
            content = read_bytes(archive, what="chart archive", max_bytes=MAX_ARCHIVE_BYTES)
            if f"sha256:{hashlib.sha256(content).hexdigest()}" != digest:
                raise ToolError(f"chart archive {archive} changed while it was being stored")
            write_atomic(blob, content)
        record = {"ref": ref.as_dict(), "digest": digest, "origin": origin,
                  "pulledAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        write_atomic(self.root / "refs" / f"{ref.key}.json", json.dumps(record, indent=2))
        entry = self.lookup(ref)
        if entry is None:  # pragma: no cover - only if the disk lies to us
            raise ToolError(f"chart cache: could not store {ref} under {self.root}")
        return entry

    def fetch(self, ref: ChartRef, *, offline: bool = False,
              timeout: float = helm.PULL_TIMEOUT) -> tuple[CachedChart, bool]:
        """The cached archive of `ref`, pulling it first when missing. Returns (entry, pulled)."""
        entry = self.lookup(ref)
        if entry is not None:
            return entry, False
        if offline:
            raise ChartNotCached(
                f"chart {ref} is not in the cache ({self.root}); "
                "run `lab charts pull <experiment>` while online"
            )
        with self._locked(ref):
            entry = self.lookup(ref)  # another process may have pulled it while we waited
            if entry is not None:
                return entry, False
            work = Path(tempfile.mkdtemp(prefix="pull-", dir=self.root / "tmp"))
            try:
                chart, repo = ref.pull_target()
                archive = helm.pull(chart, version=ref.version, repo=repo, into=work / "out",
                                    timeout=timeout)
                return self.add(ref, archive), True
            finally:
                shutil.rmtree(work, ignore_errors=True)

    def _dirs(self) -> None:
        paths.ensure_private_dir(self.root)
        for sub in ("blobs", "refs", "locks", "tmp"):
            (self.root / sub).mkdir(exist_ok=True)

    @contextlib.contextmanager
    def _locked(self, ref: ChartRef) -> Iterator[None]:
        self._dirs()
        with open(self.root / "locks" / f"{ref.key}.lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _digest_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return f"sha256:{h.hexdigest()}"
