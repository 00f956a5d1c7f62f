"""Network deadlines: a server that never answers a connect, and an exec credential plugin that
never returns, both fail in bounded time with a clear error (the kubeconfig reader's own tests
are tests/unit/test_kubeconfig.py)."""

from __future__ import annotations

import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from illm_lab import kube
from illm_lab.base.errors import ClusterError
from illm_lab.kube import config as kconfig
from illm_lab.kube import credentials
from illm_lab.kube import errors as kerrors
from illm_lab.kube.config import Endpoint
from illm_lab.kube.transport import Transport


@pytest.fixture(params=["backlog-full", "never-accepts"])
def silent_server(request: pytest.FixtureRequest) -> Iterator[int]:
    """A listening socket that never accepts: with its backlog filled the SYN goes unanswered;
    otherwise the TCP handshake completes and the TLS handshake never gets an answer."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    if request.param == "backlog-full":
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.1)
    yield port
    for s in (*fillers, server):
        s.close()


def _kubeconfig(path: Path, server: str, user: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }))
    return path


def test_unanswered_connect_fails_within_the_connect_deadline(tmp_path: Path, silent_server: int) -> None:
    path = _kubeconfig(tmp_path / "kc", f"https://127.0.0.1:{silent_server}", {"token": "t"})
    settings, target = kconfig.load(path, None)
    transport = Transport(settings, target, timeout=(0.4, 60.0), connect_deadline=1.0)
    started = time.monotonic()
    with pytest.raises(kerrors.Unreachable) as caught:
        transport.request("GET", "/version")
    assert time.monotonic() - started < 3
    assert caught.value.exit_code == 3 and "cannot reach the cluster" in str(caught.value)


def test_a_connect_timeout_is_always_set() -> None:
    from illm_lab.kube.transport import _timeout

    for value in (30.0, (0.0, 30.0), (5.0, 30.0), (60.0, 30.0)):
        connect = _timeout(value).connect_timeout
        assert isinstance(connect, float) and 0 < connect <= 10.0


def test_exec_plugin_that_never_returns_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = tmp_path / "slow-credential-plugin"
    plugin.write_text("#!/bin/sh\nsleep 60 &\nsleep 60\n")  # a child that would keep stdout open too
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(credentials, "EXEC_DEADLINE", 0.5)
    path = _kubeconfig(tmp_path / "kc", "https://127.0.0.1:1", {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
        "args": ["get-token"], "interactiveMode": "Never",
    }})
    started = time.monotonic()
    with kube.connect(path, None) as cluster, pytest.raises(ClusterError) as caught:
        cluster.server_version()  # the plugin runs with the first request
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert str(plugin) in message and "did not return within 0.5 s" in message and "\n" not in message
    assert caught.value.exit_code == 3


def test_exec_plugin_that_answers_gives_its_token(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    plugin.write_text('#!/bin/sh\necho \'{"apiVersion": "client.authentication.k8s.io/v1beta1", '
                      '"kind": "ExecCredential", "status": {"token": "tok-123"}}\'\n')
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    path = _kubeconfig(tmp_path / "kc", "https://127.0.0.1:1", {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
    }})
    settings, target = kconfig.load(path, None)
    assert isinstance(target, Endpoint)
    assert settings.credentials.headers() == {"Authorization": "Bearer tok-123"}
    assert "tok-123" not in repr(settings)
