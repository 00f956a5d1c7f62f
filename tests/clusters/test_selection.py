"""The lab config file (validation with file:line, env overrides, --config) and the documented
precedence of cluster selection: role flag > --context > --provider > --kubeconfig > env > lab
config > manifest > default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from illm_lab.base.errors import ConfigError
from illm_lab.base.paths import state_dir
from illm_lab.config import labconfig
from illm_lab.config.selection import cluster_name, select
from illm_lab.model.experiment import Experiment
from tests.clusters.conftest import lab, write_experiment
from tests.support.fakeclusters import Fakes
from tests.support.import_probe import IMPORT_PROBE
from tests.support.reports import single


def experiment(clusters: dict[str, object] | None = None) -> Experiment:
    return Experiment.model_validate({
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": "demo", "title": "Demo", "phase": "1", "type": "demo"},
        "spec": {"clusters": clusters or {"target": {}, "loadgen": {"provider": "kind"}}},
    })


def config_file(text: str) -> Path:
    path = Path(os.environ["LAB_CONFIG"])
    path.write_text(text)
    return path


def test_config_errors_name_file_line_and_field() -> None:
    path = config_file("providers:\n  target: kind\ntalos:\n  subnetPol: 10.6.0.0/16\n")
    with pytest.raises(ConfigError) as bad:
        labconfig.load()
    assert bad.value.exit_code == 2
    assert str(bad.value) == f"{path}:4: talos.subnetPol: unknown field"
    config_file("providers: {target: minikube}\n")
    with pytest.raises(ConfigError, match=r":1: providers.target: Input should be 'default', 'talos'"):
        labconfig.load()
    config_file("talosMetal:\n  clusters:\n    hub: {controlPlanes: ['10.0.0.1; rm -rf /']}\n")
    with pytest.raises(ConfigError, match=r":3: talosMetal.clusters.hub.controlPlanes: .*not an IP"):
        labconfig.load()


def test_config_through_the_cli_flag_is_validated(tmp_path: Path, fakes: Fakes) -> None:
    bad = tmp_path / "other.yaml"
    bad.write_text("provider: kind\nnope: 1\n")
    write_experiment(tmp_path / "experiments", "demo", "target: {}\n")
    res = lab("--config", str(bad), "conduct", "demo", "--dry-run", experiments=tmp_path / "experiments")
    assert res.exit_code == 2 and f"{bad}:2: nope: unknown field" in res.stderr
    good = tmp_path / "good.yaml"
    good.write_text("providers: {target: kind}\n")
    res = lab("--config", str(good), "conduct", "demo", "--dry-run", "-o", "json",
              experiments=tmp_path / "experiments")
    assert res.exit_code == 0, res.output
    plan = single(res.stdout)["plan"]["clusters"]["target"]
    assert plan["provider"] == "kind" and plan["cluster"] == "demo-target"
    assert plan["chosenBy"] == "lab config providers.target"


def test_precedence_of_cluster_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    exp = experiment()
    cfg = labconfig.validate({"providers": {"target": "talos"}, "contexts": {"loadgen": "lg-ctx"}})
    chosen = select(exp, ["target", "loadgen"], config=cfg)
    assert (chosen["target"].provider, chosen["target"].source) == ("talos", "lab config providers.target")
    assert chosen["target"].name == "demo-target" and chosen["target"].creates
    assert (chosen["loadgen"].provider, chosen["loadgen"].context) == ("existing", "lg-ctx")
    # manifest provider (loadgen: kind) loses to the lab config, wins over nothing
    assert select(exp, ["loadgen"], config={})["loadgen"].provider == "kind"
    assert select(exp, ["target"], config={})["target"].provider == "default"
    # env beats the config file, command line beats env
    monkeypatch.setenv("LAB_TARGET_PROVIDER", "kind")
    assert select(exp, ["target"], config=cfg)["target"].source == "LAB_TARGET_PROVIDER"
    assert select(exp, ["target"], config=cfg, provider="talos-metal")["target"].provider == "talos-metal"
    with_kubeconfig = select(exp, ["target"], config=cfg, kubeconfig=Path("/k"))["target"]
    assert (with_kubeconfig.provider, with_kubeconfig.kubeconfig) == ("existing", Path("/k"))
    flag = select(exp, ["target"], config=cfg, provider="kind", context="c")["target"]
    assert (flag.provider, flag.context, flag.source) == ("existing", "c", "--context")
    role = select(exp, ["target"], context="c", role_contexts={"target": "r"}, config=cfg)["target"]
    assert (role.context, role.source) == ("r", "--target-context")
    monkeypatch.setenv("LAB_PROVIDER", "nonsense")
    monkeypatch.delenv("LAB_TARGET_PROVIDER")
    with pytest.raises(ConfigError, match="LAB_PROVIDER='nonsense'"):
        select(exp, ["target"], config={})


def test_a_cluster_lab_created_is_found_again() -> None:
    folder = state_dir() / "clusters" / "demo-target"
    folder.mkdir(parents=True)
    (folder / "kubeconfig").write_text("apiVersion: v1\n")
    target = select(experiment(), ["target"], config={})["target"]
    assert target.kubeconfig == folder / "kubeconfig" and target.source == "cluster demo-target that lab created"
    assert select(experiment(), ["target"], config={}, instance="demo-b")["target"].name == "demo-b-target"


def test_cluster_names_are_short_enough_for_node_hostnames() -> None:
    assert cluster_name("prometheus-tutorial", "target") == "prometheus-tutorial-target"
    long = cluster_name("observability-cost-tutorial-with-a-long-instance", "loadgen")
    assert len(long) <= 40 and long != cluster_name("observability-cost-tutorial-with-a-long-other", "loadgen")


def test_hub_and_kubeconfig_help_do_not_import_kubernetes() -> None:
    import subprocess
    import sys

    probe = IMPORT_PROBE
    for args in (["hub", "--help"], ["hub", "bootstrap", "--help"], ["kubeconfig", "--help"]):
        proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                              env=dict(os.environ), timeout=60)
        assert "CLEAN 0" in proc.stderr, (args, proc.stderr[-500:])


def test_config_flag_never_leaks_into_the_environment_or_the_next_invocation(tmp_path: Path,
                                                                             fakes: Fakes) -> None:
    import os

    good = tmp_path / "good.yaml"
    good.write_text("providers: {target: kind}\n")
    write_experiment(tmp_path / "experiments", "demo", "target: {}\n")
    before = os.environ.get("LAB_CONFIG")
    res = lab("--config", str(good), "conduct", "demo", "--dry-run", "-o", "json",
              experiments=tmp_path / "experiments")
    assert res.exit_code == 0 and os.environ.get("LAB_CONFIG") == before
    res = lab("conduct", "demo", "--dry-run", "-o", "json", experiments=tmp_path / "experiments")
    plan = single(res.stdout)["plan"]["clusters"]["target"]
    assert plan["chosenBy"] != "lab config providers.target"
