"""Reading and writing the files lab uses, safely: bounded reads, atomic durable writes.

Reading: every file lab reads — manifests, templates, values files, the lab config, kubeconfigs,
tutorial guides, roadmap pages, ADRs, charts' Chart.yaml, its own state files — goes through
`read_bytes`/`read_text`. They refuse what is not a regular file (a FIFO would block forever,
`/dev/zero` or `/dev/urandom` would fill the memory) and anything over a size limit, before
reading it, and read at most the limit even if the file grows meanwhile. Every failure is one
`InputError` naming the file: `path: values file is a FIFO, not a regular file`.

Writing: `write_atomic` writes a temporary file in the target's directory (mode 0600 unless told
otherwise), fsyncs it, renames it over the target and fsyncs the directory, so a reader sees the
old file or the new one, never half of one, and a crash right after returning loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from illm_lab.base.errors import InputError, StorageError

MAX_BYTES = 1024 * 1024
_CHUNK = 1 << 16
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotFound(InputError):
    """The file does not exist (callers for which that is normal catch this one)."""


def _not_regular(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _refuse(what: str, mode: int, path: Path) -> None:
    kind = _not_regular(mode)
    if kind is not None:
        expected = "expected a file" if kind == "a directory" else "not a regular file"
        raise InputError(f"{what} is {kind}, {expected}", where=str(path))


def _too_big(what: str, size: int | None, max_bytes: int, path: Path) -> InputError:
    """`size` None: the file grew past the limit while it was being read."""
    about = "growing" if size is None else f"{size} bytes"
    return InputError(f"{what} is {about}, over the limit of {max_bytes} bytes", where=str(path))


def read_bytes(path: Path, *, what: str = "file", max_bytes: int = MAX_BYTES) -> bytes:
    """The content of a regular file of at most `max_bytes`, or one InputError naming it."""
    try:
        _refuse(what, os.stat(path).st_mode, path)  # before opening: a device may act on open
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"{what} not found", where=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", where=str(path)) from None
    try:
        info = os.fstat(fd)
        _refuse(what, info.st_mode, path)  # swapped for something else after the stat
        if info.st_size > max_bytes:
            raise _too_big(what, info.st_size, max_bytes, path)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", where=str(path)) from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise _too_big(what, None, max_bytes, path)
    return b"".join(chunks)


def read_text(path: Path, *, what: str = "file", max_bytes: int = MAX_BYTES) -> str:
    """`read_bytes` decoded as UTF-8; a bad byte is reported with its line and offset."""
    raw = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            where=f"{path}:{line}",
        ) from None


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` atomically and durably: a temporary file in the same
    directory (created 0600, then given `mode`), fsync, rename over `path`, fsync the directory.
    The directory must exist; on any failure the temporary file is removed, and a file system
    that refuses the write (full, read-only, no permission) is a StorageError naming `path`."""
    try:
        _replace(path, data.encode("utf-8") if isinstance(data, str) else data, mode)
    except OSError as exc:
        raise StorageError(f"cannot write: {exc.strerror or exc}", where=str(path)) from None


def _replace(path: Path, payload: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            if mode != 0o600:
                os.fchmod(fd, mode)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
