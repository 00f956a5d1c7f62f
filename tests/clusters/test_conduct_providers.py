"""`lab conduct` / `lab down` / `lab kubeconfig` with clusters lab creates (fake kind and talosctl
writing kubeconfigs for the emulator): `<exp>-<role>` created in the clusters step, recorded in the
ledger before the create, deleted after the objects; an explicit context is never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from illm_lab.base.paths import state_dir
from illm_lab.ledger import Ledger
from tests.clusters.conftest import lab, write_experiment
from tests.support.emulator import LabEmulator
from tests.support.fakeclusters import Fakes
from tests.support.reports import single

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]
LABEL = "lab.illm.io/instance"


def labelled(emulator: LabEmulator) -> list[str]:
    return sorted(f"{kind}/{o['metadata']['name']}" for api, kind in [("v1", "Namespace"), ("v1", "ConfigMap")]
                  for o in emulator.list(api, kind) if LABEL in (o["metadata"].get("labels") or {}))


def kind_calls(fakes: Fakes, verb: str) -> list[str]:
    return [c[c.index("--name") + 1] for c in fakes.calls("kind") if c[:2] == [verb, "cluster"]]


@pytest.fixture
def experiments(tmp_path: Path) -> Path:
    root = tmp_path / "experiments"
    write_experiment(root, "kinddemo", "target: {provider: kind}\n")
    write_experiment(root, "other", "target: {provider: kind}\n")
    return root


def test_conduct_creates_and_deletes_the_experiment_cluster(
    fakes: Fakes, experiments: Path, emulator: LabEmulator
) -> None:
    res = lab("conduct", "kinddemo", "--ci", "-o", "json", experiments=experiments)
    assert res.exit_code == 0, res.output
    report = single(res.stdout)
    assert report["clusters"]["target"]["provider"] == "kind"
    assert report["clusters"]["target"]["name"] == "kinddemo-target"
    assert report["clusters"]["target"]["context"] == "kind-kinddemo-target"
    assert kind_calls(fakes, "create") == ["kinddemo-target"] and kind_calls(fakes, "delete") == ["kinddemo-target"]
    teardown = next(s for s in report["steps"] if s["name"] == "teardown")
    assert "cluster kinddemo-target deleted" in teardown["message"]
    assert labelled(emulator) == []
    [run] = Ledger().runs(instance="kinddemo")
    assert run.clusters["target"]["state"] == "deleted"
    assert {o["state"] for o in run.objects} == {"deleted"}  # the objects went first
    assert not (state_dir() / "clusters" / "kinddemo-target").exists()


def test_keep_then_kubeconfig_then_down(fakes: Fakes, experiments: Path, emulator: LabEmulator) -> None:
    res = lab("conduct", "kinddemo", "--ci", "--keep", experiments=experiments)
    assert res.exit_code == 0, res.output
    namespace = emulator.get("v1", "Namespace", None, "kinddemo")
    labels = namespace["metadata"]["labels"]
    assert {labels[f"pod-security.kubernetes.io/{m}"] for m in ("enforce", "audit", "warn")} == {"privileged"}
    path = state_dir() / "clusters" / "kinddemo-target" / "kubeconfig"
    shown = lab("kubeconfig", "kinddemo")
    assert shown.exit_code == 0 and shown.stdout.strip() == str(path)
    assert "token" not in shown.output  # only the path, never the credentials
    exported = lab("kubeconfig", "kinddemo", "--role", "target", "--export")
    assert exported.stdout.strip() == f"export KUBECONFIG={path}"
    missing = lab("kubeconfig", "kinddemo", "--role", "loadgen")
    assert missing.exit_code == 2 and "lab has no kubeconfig for cluster kinddemo-loadgen" in missing.stderr
    # a second run reuses the kept cluster (validate reads the kubeconfig lab wrote)
    assert lab("validate", "kinddemo", experiments=experiments).exit_code == 0
    down = lab("down", "kinddemo", "-o", "json", experiments=experiments)
    assert down.exit_code == 0, down.output
    assert json.loads(down.stdout)["clusters"] == [
        {"cluster": "target", "name": "kinddemo-target", "provider": "kind", "action": "deleted"}]
    assert kind_calls(fakes, "create") == ["kinddemo-target"] and kind_calls(fakes, "delete") == ["kinddemo-target"]
    assert labelled(emulator) == [] and not path.exists()
    assert "nothing of kinddemo" in lab("down", "kinddemo", experiments=experiments).stderr


def test_two_experiments_at_once_get_their_own_clusters(fakes: Fakes, experiments: Path) -> None:
    res = lab("conduct", "kinddemo", "other", "--ci", "--parallel", "2", "-o", "json", experiments=experiments)
    assert res.exit_code == 0, res.output
    assert sorted(kind_calls(fakes, "create")) == ["kinddemo-target", "other-target"]
    assert sorted(kind_calls(fakes, "delete")) == ["kinddemo-target", "other-target"]


def test_half_created_cluster_is_exit_3_then_found_by_down(
    fakes: Fakes, experiments: Path
) -> None:
    fakes.fail("kind", "create")
    res = lab("conduct", "kinddemo", "--ci", "--keep", experiments=experiments)
    assert res.exit_code == 3, res.output
    assert "kind create cluster --name kinddemo-target" in res.stderr
    [run] = Ledger().runs(instance="kinddemo")
    assert run.clusters["target"]["create"] and run.clusters["target"]["state"] == "failed"
    fakes.fail("kind", None)
    down = lab("down", "kinddemo", experiments=experiments)
    assert down.exit_code == 0, down.output
    assert kind_calls(fakes, "delete") == ["kinddemo-target"]
    assert fakes.world()["containers"] == {}


def test_failed_create_without_keep_is_cleaned_up_by_the_conduct(fakes: Fakes, experiments: Path) -> None:
    fakes.fail("kind", "create")
    res = lab("conduct", "kinddemo", "--ci", experiments=experiments)
    assert res.exit_code == 3, res.output
    assert kind_calls(fakes, "delete") == ["kinddemo-target"] and fakes.world()["containers"] == {}


def test_an_explicit_context_wins_and_is_never_deleted(
    fakes: Fakes, experiments: Path, emulator: LabEmulator
) -> None:
    res = lab("conduct", "kinddemo", "--ci", "--kubeconfig", str(emulator.kubeconfig), "--context", "emulator",
              "-o", "json", experiments=experiments)
    assert res.exit_code == 0, res.output
    assert single(res.stdout)["clusters"]["target"]["provider"] == "existing"
    assert fakes.calls("kind") == [] and fakes.calls("talosctl") == []
    existing = lab("kubeconfig", "kinddemo")
    assert existing.exit_code == 2 and "was not created by lab" in existing.stderr


def test_default_provider_is_talos_when_talosctl_and_docker_are_there(
    fakes: Fakes, tmp_path: Path
) -> None:
    root = tmp_path / "defaults"
    write_experiment(root, "talosdemo", "target: {size: medium}\n")
    res = lab("conduct", "talosdemo", "--ci", "-o", "json", experiments=root)
    assert res.exit_code == 0, res.output
    assert single(res.stdout)["clusters"]["target"]["provider"] == "talos"
    create = next(c for c in fakes.calls("talosctl") if c[:2] == ["cluster", "create"])
    assert create[create.index("--name") + 1] == "talosdemo-target"
    assert create[create.index("--workers") + 1] == "2"  # size medium
    assert fakes.calls("talosctl")[-1][:4] == ["cluster", "destroy", "--name", "talosdemo-target"]


def test_down_deletes_a_created_cluster_that_no_longer_answers(fakes: Fakes, experiments: Path) -> None:
    assert lab("conduct", "kinddemo", "--ci", "--keep", experiments=experiments).exit_code == 0
    kubeconfig = state_dir() / "clusters" / "kinddemo-target" / "kubeconfig"
    config = yaml.safe_load(kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:9"  # the cluster is gone
    kubeconfig.write_text(yaml.safe_dump(config))
    down = lab("down", "kinddemo", "-o", "json", experiments=experiments)
    assert down.exit_code == 0, down.output
    result = json.loads(down.stdout)
    assert [s["cluster"] for s in result["skipped"]] == ["target"]
    assert result["clusters"][0]["action"] == "deleted" and kind_calls(fakes, "delete") == ["kinddemo-target"]


def test_apply_refuses_a_provider_cluster_that_does_not_exist_yet(fakes: Fakes, experiments: Path) -> None:
    res = lab("apply", "kinddemo", experiments=experiments)
    assert res.exit_code == 2 and "the target cluster (kind, chosen by manifest clusters.target.provider)" in res.stderr
    assert fakes.calls("kind") == []
