from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fakebin import FIXTURE_CHARTS, package_chart, require_real_helm


@pytest.fixture
def real_helm() -> Path:
    """The real helm v3 binary (not put on PATH: fakes hand `helm template` on to it)."""
    return require_real_helm()


@pytest.fixture
def helm_on_path(real_helm: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real helm v3, alone on PATH."""
    monkeypatch.setenv("PATH", str(real_helm.parent))
    return real_helm


@pytest.fixture
def bindir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that is the whole PATH: only the fakes a test writes there exist."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return package_chart(FIXTURE_CHARTS / "labdemo", tmp_path / "pkg")
