"""A cache of catalog summaries, so `lab list` stays fast as the catalog grows.

Validating every manifest means importing pydantic and building the models (~0.1 s) before
parsing each file. `lab list` only needs each experiment's metadata, so the result of a full
validation is cached per manifest, keyed by the file's size, mtime and inode plus a fingerprint
of the model sources; any change to a manifest or to lab's models re-validates that manifest.
Problems are cached too, so a broken manifest is still reported on every run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from illm_lab.base import paths
from illm_lab.base.errors import InputError, StorageError
from illm_lab.base.files import read_text, write_atomic
from illm_lab.model.phases import phase_matches

MANIFEST = "experiment.yaml"
MAX_CACHE_BYTES = 64 * 1024 * 1024  # summaries of a catalog of thousands of experiments
_MODEL_DIR = Path(__file__).parents[1] / "model"


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _fingerprint() -> str:
    parts = [f"{p.name}:{_stamp(p)}" for p in sorted(_MODEL_DIR.glob("*.py"))]
    parts.append(str(_stamp(Path(__file__).parent / "entries.py")))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _cache_file(root: Path) -> Path:
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return paths.cache_dir() / "catalog" / f"{key}.json"


def _folders(root: Path) -> list[Path]:
    from illm_lab.base.errors import UsageError

    if not root.is_dir():
        raise UsageError(
            f"experiments directory {str(root)!r} not found "
            "(run lab from the repository root, or pass --experiments-dir)"
        )
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / MANIFEST).is_file()
    )


def summaries(root: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """(summaries of valid experiments, problems as `where: message` lines), cache-backed."""
    cache_path = _cache_file(root)
    fingerprint = _fingerprint()
    try:
        cached = json.loads(read_text(cache_path, what="catalog cache", max_bytes=MAX_CACHE_BYTES))
        if not isinstance(cached, dict) or cached.get("fingerprint") != fingerprint:
            cached = {}
    except (InputError, ValueError):
        cached = {}
    old: dict[str, Any] = cached.get("entries", {})
    fresh: dict[str, Any] = {}
    changed = False
    for folder in _folders(root):
        stamp = _stamp(folder / MANIFEST)
        hit = old.get(folder.name)
        if hit is not None and hit.get("stamp") == stamp:
            fresh[folder.name] = hit
            continue
        fresh[folder.name] = {"stamp": stamp, **_validate(folder)}
        changed = True
    if changed or set(old) != set(fresh):
        _write(cache_path, {"fingerprint": fingerprint, "entries": fresh})
    found = [e["summary"] for e in fresh.values() if e.get("summary")]
    problems = [p for e in fresh.values() for p in e.get("problems", [])]
    return found, problems


def _validate(folder: Path) -> dict[str, Any]:
    from illm_lab import catalog
    from illm_lab.catalog import views

    entry, problems = catalog.load_checked(folder)
    if entry is None:
        return {"problems": [str(p) for p in problems]}
    return {"summary": views.experiment_summary(entry)}


def _write(path: Path, data: dict[str, Any]) -> None:
    """Atomic replace; a cache that cannot be written is simply not used next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(data))
    except (OSError, StorageError):
        return


def select(
    found: list[dict[str, Any]], *, phase: str | None = None, tags: list[str] | None = None
) -> list[dict[str, Any]]:
    out = found
    if phase:
        out = [s for s in out if phase_matches(s["phase"], phase)]
    if tags:
        out = [s for s in out if set(tags) <= set(s["tags"])]
    return out
