"""tools.run: the one way lab runs a binary, and the errors it turns failures into."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from illm_lab.base.errors import EXIT_CLUSTER, ToolError
from illm_lab.tools.run import (
    ToolFailed,
    ToolNotFound,
    ToolTimeout,
    display_command,
    redact,
    run,
)
from tests.support.fakebin import fake_tool, write_script


def test_runs_argv_without_a_shell() -> None:
    hostile = "a; echo pwned $(id) `id` | cat > /tmp/x"
    res = run([sys.executable, "-c", "import sys; print(sys.argv[1])", hostile])
    assert res.exit_code == 0
    assert res.stdout == hostile + "\n"


def test_env_is_added_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_TEST_KEEP", "kept")
    code = "import os; print(os.environ['LAB_TEST_KEEP'], os.environ['LAB_TEST_ADDED'])"
    res = run([sys.executable, "-c", code], env={"LAB_TEST_ADDED": "added"})
    assert res.stdout.split() == ["kept", "added"]


def test_missing_binary_is_a_tool_error_with_the_hint(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFound) as info:
        run(["helm", "version"], hint="install helm 3.8 or later")
    assert isinstance(info.value, ToolError) and info.value.exit_code == EXIT_CLUSTER
    assert str(info.value) == "helm: command not found on PATH; install helm 3.8 or later"


def test_failure_shows_command_exit_code_and_indented_stderr(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    stderr = "Error: login to https://bob:hunter22@registry.example failed\npassword=letmein99\nmy-secret-value\n"
    fake_tool(tmp_path, "tool", stderr=stderr, exit_code=4)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolFailed) as info:
        run(["tool", "pull", "--password", "hunter22", "my-secret-value"], secrets=["my-secret-value"])
    message = str(info.value)
    assert message.splitlines()[0] == "tool pull --password *** *** failed with exit code 4:"
    assert "    Error: login to https://bob:***@registry.example failed" in message
    assert "    password=***" in message
    for secret in ("hunter22", "letmein99", "my-secret-value"):
        assert secret not in message
    assert info.value.tool_exit_code == 4 and info.value.exit_code == EXIT_CLUSTER


def test_failure_without_stderr_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_tool(tmp_path, "quiet", exit_code=2)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolFailed, match=r"quiet failed with exit code 2:\n    \(no output on stderr\)"):
        run(["quiet"])


def test_long_stderr_keeps_the_last_lines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_tool(tmp_path, "noisy", stderr="".join(f"line {i}\n" for i in range(100)), exit_code=1)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolFailed) as info:
        run(["noisy"])
    message = str(info.value)
    assert "(60 earlier lines omitted)" in message and "    line 99" in message
    assert "line 59\n" not in message


def test_timeout_stops_the_tool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_script(tmp_path, "slow", "import time\ntime.sleep(30)\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolTimeout, match=r"^slow --flag did not finish within 0.3s and was stopped$"):
        run(["slow", "--flag"], timeout=0.3)


def test_display_command_quotes_and_masks() -> None:
    shown = display_command(["helm", "registry", "login", "--password=pw1", "--token", "t0k", "a b"])
    assert shown == "helm registry login --password=*** --token *** 'a b'"


@pytest.mark.parametrize(("text", "expected"), [
    ("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer ***"),
    ("api_key: 12345 next", "api_key: *** next"),
    ('"clientSecret": "xyz"', '"clientSecret": "***"'),
    ("https://user:pw@example.com/x", "https://user:***@example.com/x"),
    ("nothing to hide here", "nothing to hide here"),
])
def test_redact_patterns(text: str, expected: str) -> None:
    assert redact(text) == expected
