"""Test-wide guards: no test reads or writes the user's home, kubeconfig or lab dirs.

Every test runs with `HOME`, `LAB_STATE_DIR`, `LAB_CACHE_DIR`, `LAB_CONFIG` and `KUBECONFIG`
pointed at a fresh temporary directory; after the test, the guard fails loudly if the real home
directory's lab or kube files changed. The tier-3 binary cache (`LAB_ENVTEST_DIR`) is the one
allowed, read-only exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.real_cluster", "tests.support.emulator"]

REAL_HOME = Path(os.path.expanduser("~"))
_WATCHED = [REAL_HOME / ".kube", REAL_HOME / ".config" / "illm-lab", REAL_HOME / ".local" / "state" / "illm-lab"]


def _snapshot() -> dict[str, float]:
    seen: dict[str, float] = {}
    for root in _WATCHED:
        if root.exists():
            for p in [root, *root.rglob("*")]:
                seen[str(p)] = p.stat().st_mtime
    return seen


@pytest.fixture(autouse=True)
def lab_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Isolated home, state, cache, config and kubeconfig for every test."""
    base = tmp_path_factory.mktemp("labenv")
    for name in ("home", "state", "cache", "config", "kube"):
        (base / name).mkdir()
    envtest = os.environ.get("LAB_ENVTEST_DIR") or str(REAL_HOME / ".cache" / "illm-lab" / "envtest")
    monkeypatch.setenv("LAB_ENVTEST_DIR", envtest)
    monkeypatch.setenv("HOME", str(base / "home"))
    monkeypatch.setenv("LAB_STATE_DIR", str(base / "state"))
    monkeypatch.setenv("LAB_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("LAB_CONFIG", str(base / "config" / "config.yaml"))
    monkeypatch.setenv("KUBECONFIG", str(base / "kube" / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("LAB_EXPERIMENTS_DIR", raising=False)
    before = _snapshot()
    yield base
    after = _snapshot()
    assert before == after, "a test touched the real home directory's kube or lab files"
