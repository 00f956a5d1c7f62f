"""Fixtures of the provider and hub tests: fake talosctl/kind/docker alone on PATH (plus the real
helm), writing kubeconfigs that point at the API emulator, and a hub platform of local charts."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab.cli.main import app
from tests.support.emulator import LabEmulator
from tests.support.fakebao import BaoState, fake_openbao
from tests.support.fakebin import FIXTURE_CHARTS
from tests.support.fakeclusters import Fakes, make_fakes

PLATFORM = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata: {name: hub, title: Test hub platform, phase: "1", type: demo}
spec:
  clusters:
    hub: {provider: default, size: small}
  namespaces:
    demo: {podSecurity: privileged}
  components:
    - name: web
      cluster: hub
      namespace: demo
      helm: {path: charts/labdemo, values: values/web.yaml.j2}
      timeout: 20s
    - name: openbao
      cluster: hub
      namespace: openbao
      helm: {path: charts/fakebao}
      wait: false
      timeout: 20s
"""


@pytest.fixture
def fakes(emulator: LabEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    emulator.auto_ready(after=0.02)
    made = make_fakes(tmp_path, emulator.kubeconfig).install()
    monkeypatch.setenv("PATH", str(made.bindir))
    return made


@pytest.fixture
def platform_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "platform" / "hub"
    (folder / "values").mkdir(parents=True)
    (folder / "experiment.yaml").write_text(PLATFORM)
    (folder / "values" / "web.yaml.j2").write_text("replicas: 2\ngreeting: from the hub\n")
    for chart in ("labdemo", "fakebao"):
        shutil.copytree(FIXTURE_CHARTS / chart, folder / "charts" / chart)
    return folder


@pytest.fixture
def bao(emulator: LabEmulator) -> Iterator[BaoState]:
    with fake_openbao() as (url, state):
        emulator.register_backend("openbao", "openbao", 8200, url)
        yield state


def lab(*args: str, experiments: Path | None = None, input: str | None = None) -> Any:
    base = ["--experiments-dir", str(experiments)] if experiments else []
    return CliRunner().invoke(app, [*base, *args], input=input)


def write_experiment(root: Path, name: str, clusters: str, namespaces: str = "") -> Path:
    """A one-component experiment (a ConfigMap) whose clusters block the test chooses."""
    folder = root / name
    (folder / "manifests").mkdir(parents=True)
    (folder / "experiment.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: lab.illm.io/v1alpha1
        kind: Experiment
        metadata: {{name: {name}, title: Provider test, phase: "1", type: demo}}
        spec:
          clusters:
        {textwrap.indent(clusters, "    ")}
          namespaces:
            {name}: {{podSecurity: privileged}}
        {textwrap.indent(namespaces, "    ")}
          components:
            - name: settings
              namespace: {name}
              manifests: [manifests/settings.yaml]
          checks:
            - name: settings exist
              assert:
                resource: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: settings, namespace: {name}}}}}
        """))
    (folder / "manifests" / "settings.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {greeting: hello}\n")
    (folder / "README.md").write_text(f"# {name}\n")
    return folder
