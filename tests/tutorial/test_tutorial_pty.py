"""The tutorial session's terminal UI under a pseudo-terminal: `python -m illm_lab tutorial
start` runs with a pty as its controlling terminal (a single-threaded helper forks it with
`pty.spawn`), the test types keys and reads the screen. Ctrl-C is the byte 0x03 typed into the
terminal, so this also proves the session's cbreak mode keeps signals on."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conduct.test_conduct_emulator import labelled
from tests.support.emulator import LabEmulator
from tests.tutorial.conftest import FIXTURES, note

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]

SECRET = "tutorial-s3cret-value"
HELPER = (
    "import os, pty, sys\n"
    "status = pty.spawn(sys.argv[1:])\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


class Terminal:
    """A process on a pty: `send` types, `expect` waits (bounded) until the screen shows text."""

    def __init__(self, argv: list[str]) -> None:
        env = {**os.environ, "COLUMNS": "110", "LINES": "40", "TERM": "xterm"}
        self.proc = subprocess.Popen([sys.executable, "-c", HELPER, *argv], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.raw = b""
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            with self.changed:
                self.raw += chunk
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    @property
    def screen(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def expect(self, text: str, timeout: float = 60.0) -> str:
        with self.changed:
            found = self.changed.wait_for(
                lambda: text in self.screen or not self.reader.is_alive(), timeout)
        screen = self.screen
        assert found and text in screen, f"{text!r} not on screen; it shows:\n{screen[-3000:]}"
        return screen

    def send(self, keys: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(keys)
        self.proc.stdin.flush()

    def wait(self, timeout: float = 90.0) -> int:
        code = self.proc.wait(timeout)
        self.reader.join(5)
        return code


def start(emulator: LabEmulator, events: Path, *extra: str) -> Terminal:
    return Terminal([sys.executable, "-m", "illm_lab", "--experiments-dir", str(FIXTURES), "tutorial",
                     "start", "lab-tutorial", "--kubeconfig", str(emulator.kubeconfig),
                     "--events", str(events), "--check-timeout", "1s", *extra])


def test_keys_walk_the_session_and_the_screen_shows_endpoints_and_credentials(
    tut: LabEmulator, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    term = start(tut, events)
    term.expect("Checkpoint 1/3 · Open the app")
    screen = term.expect("[Enter] check")
    assert "A demo app waits behind a Service" in screen  # the guide
    url = re.search(r"http://127\.0\.0\.1:(\d+)/readyz", screen)
    assert url, screen
    assert f"password: {SECRET}" in screen
    assert f"Open {url.group(0)} (reached port-forward)" in screen  # instructions, rendered
    term.send(b"\r")
    term.expect("✓ Open the app: passed")
    term.expect("Checkpoint 2/3 · Leave a note")
    term.send(b"h")
    term.expect("Hint:")
    term.send(b"\r")
    term.expect("✗ Leave a note: not yet")
    note(tut)
    term.send(b"\r")
    term.expect("Checkpoint 3/3 · Sign the review")
    term.send(b"s")
    term.expect("[q] finish")  # every checkpoint done: the services stay open until q
    term.send(b"q")
    term.expect("2/3 checkpoints passed")
    assert term.wait() == 0, term.screen[-2000:]
    assert "lab-tutorial: PASSED" in term.screen
    assert labelled(tut) == []
    assert SECRET not in events.read_text()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(url.group(1))), timeout=1).close()


def test_ctrl_c_in_the_session_tears_down_and_exits_130(tut: LabEmulator, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    term = start(tut, events)
    term.expect("Checkpoint 1/3")
    term.expect("[Enter] check")
    term.send(b"\x03")
    assert term.wait() == 130, term.screen[-2000:]
    assert "Traceback" not in term.screen
    steps = [json.loads(line) for line in events.read_text().splitlines()]
    finished = [e["step"] for e in steps if e["event"] == "step.finished"]
    assert finished[-2:] == ["tutorial", "teardown"]
    assert labelled(tut) == []
