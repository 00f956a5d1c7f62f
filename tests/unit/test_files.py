"""base/files: bounded reads that refuse what is not a regular file, and the one atomic writer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from illm_lab.base import files
from illm_lab.base.errors import InputError, StorageError


def test_reads_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n")
    assert files.read_text(path) == "a: 1\n"
    assert files.read_bytes(path, max_bytes=5) == b"a: 1\n"


@pytest.mark.parametrize(("target", "problem"), [
    ("/dev/zero", "values file is a character device, not a regular file"),
    ("/dev/null", "values file is a character device, not a regular file"),
    ("/", "values file is a directory, expected a file"),
])
def test_refuses_what_is_not_a_regular_file(target: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        files.read_text(Path(target), what="values file")
    assert str(caught.value) == f"{target}: {problem}"


def test_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"pipe: values file is a FIFO, not a regular file$"):
        files.read_text(fifo, what="values file")


def test_refuses_a_socket(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(InputError, match=r"is a socket, not a regular file"):
            files.read_text(path)


def test_size_limit_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 11)
    with pytest.raises(InputError, match=r"big: file is 11 bytes, over the limit of 10 bytes"):
        files.read_bytes(path, max_bytes=10)
    with pytest.raises(files.NotFound, match=r"nope: ledger file not found"):
        files.read_bytes(tmp_path / "nope", what="ledger file")


def test_reads_at_most_the_limit_even_if_the_file_grows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "growing"
    path.write_bytes(b"x" * 104)
    real_fstat = os.fstat

    def stale(fd: int) -> os.stat_result:  # the size seen before the file grew: 4 bytes
        fields = list(real_fstat(fd))
        fields[stat.ST_SIZE] = 4
        return os.stat_result(fields)

    monkeypatch.setattr(os, "fstat", stale)
    with pytest.raises(InputError, match=r"growing: file is growing, over the limit of 10 bytes"):
        files.read_bytes(path, max_bytes=10)


def test_bad_utf8_names_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "t.j2"
    path.write_bytes(b"ok\nkind: \xff\n")
    with pytest.raises(InputError, match=r"t\.j2:2: not valid UTF-8 \(byte 0xff at offset 9\)"):
        files.read_text(path)


def test_write_atomic_is_private_by_default_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    files.write_atomic(path, "{}")
    files.write_atomic(path, b"[1]")
    assert path.read_text() == "[1]"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    files.write_atomic(tmp_path / "shared", "x", mode=0o644)
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared", "state.json"]


def test_write_atomic_fsyncs_the_file_and_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    files.write_atomic(tmp_path / "a", "x")
    assert synced == ["file", "dir"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a"
    files.write_atomic(path, "old")

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(StorageError, match="No space left on device") as caught:
        files.write_atomic(path, "new")
    assert caught.value.where == str(path) and caught.value.exit_code == 3
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


@pytest.mark.parametrize("module", [
    "illm_lab.ledger.run", "illm_lab.tutorial.progress", "illm_lab.clusters.registry",
    "illm_lab.catalog.index", "illm_lab.charts.cache",
])
def test_every_state_writer_uses_the_one_helper(module: str) -> None:
    import importlib
    import inspect

    source = inspect.getsource(importlib.import_module(module))
    assert "write_atomic" in source
    assert "mkstemp" not in source and "os.replace" not in source
