from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.support.catalogs import write_experiment
from tests.support.emulator import LabEmulator


class Lab:
    """Runs `lab` in-process with CliRunner against one experiments folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner = CliRunner()

    def __call__(self, *args: str) -> object:
        return self.runner.invoke(app, ["--experiments-dir", str(self.root), *args])


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    root = tmp_path / "experiments"
    write_experiment(root, "demo")
    return root


@pytest.fixture
def lab(catalog: Path) -> Lab:
    return Lab(catalog)


@pytest.fixture
def reachable(emulator: LabEmulator, monkeypatch: pytest.MonkeyPatch) -> LabEmulator:
    """The kubeconfig's current context is a live API server: a dry run's clusters step reaches it."""
    assert emulator.kubeconfig is not None
    monkeypatch.setenv("KUBECONFIG", str(emulator.kubeconfig))
    return emulator
