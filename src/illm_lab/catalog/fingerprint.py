"""Which version of an experiment a validation record proves: a hash of the folder's files.

`lab conduct --record` writes the hash into the record (`experimentHash`), and `lab roadmap`
compares it with the folder as it is now: a record of an older version is *stale* and does not
count. Plain `hashlib`, no models: `lab roadmap` stays free of pydantic until it reads a record.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

RECORD_FILE = "validation.yaml"  # = model.record.RECORD_FILE, not imported: that loads pydantic


def experiment_hash(folder: Path) -> str:
    """sha256 over the folder's files and their paths (the record itself and `__pycache__`
    excluded), so a record says which version of the experiment it validated."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == RECORD_FILE or "__pycache__" in rel:
            continue
        digest.update(rel.encode() + b"\0" + _file_digest(path))
    return "sha256:" + digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    """Streamed, so a large file never sits in memory whole (only regular files get here)."""
    file_hash = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            file_hash.update(block)
    return file_hash.digest()
