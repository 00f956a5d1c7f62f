"""Each provider against fake tools: argv per talosctl version, where credentials land, unique
subnets, idempotent re-runs, deletion (and that `existing` is never deleted)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from illm_lab import clusters
from illm_lab.base.errors import ConfigError, ToolError
from illm_lab.base.paths import state_dir
from illm_lab.clusters import registry
from illm_lab.clusters.base import Request
from illm_lab.config import labconfig
from illm_lab.model.labconfig import LabConfig
from illm_lab.model.sizes import SIZES
from tests.support.fakeclusters import Fakes


def request(name: str, role: str = "target", size: str = "small") -> Request:
    return Request(name=name, role=role, size=SIZES[size], owner=name.rsplit("-", 1)[0])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("version", "form"), [("v1.11.5", ["cluster", "create", "--provisioner", "docker"]),
                                               ("v1.12.0", ["cluster", "create", "docker"])])
def test_talos_create_per_version_keeps_credentials_in_the_state_dir(
    fakes: Fakes, version: str, form: list[str]
) -> None:
    fakes.talos_version = version
    fakes.install("talosctl")
    talos = clusters.get("talos")
    attached = talos.create(request("demo-target"))
    create = next(c for c in fakes.calls("talosctl") if c[:2] == ["cluster", "create"])
    assert create[: len(form)] == form
    subnet_flag = "--subnet" if version == "v1.12.0" else "--cidr"
    assert create[create.index(subnet_flag) + 1] == "10.5.1.0/24"
    assert create[create.index("--name") + 1] == "demo-target"
    folder = state_dir() / "clusters" / "demo-target"
    assert attached.kubeconfig == folder / "kubeconfig" and attached.context == "admin@demo-target"
    assert mode(attached.kubeconfig) == 0o600 and mode(folder / "talosconfig") == 0o600
    assert mode(folder) == 0o700
    kubeconfig_call = next(c for c in fakes.calls("talosctl") if "kubeconfig" in c)
    assert "--merge=false" in kubeconfig_call and kubeconfig_call[kubeconfig_call.index("--nodes") + 1] == "10.5.1.2"
    assert not (Path(os.environ["HOME"]) / ".talos").exists()
    assert not Path(os.environ["KUBECONFIG"]).exists()  # the user's kubeconfig is never touched


def test_talos_second_cluster_gets_its_own_subnet_and_reuse_is_a_no_op(fakes: Fakes) -> None:
    talos = clusters.get("talos")
    talos.create(request("one-target"))
    talos.create(request("two-target"))
    cidrs = {name: c["cidr"] for name, c in fakes.world()["talos"].items()}
    assert cidrs == {"one-target": "10.5.1.0/24", "two-target": "10.5.2.0/24"}
    creates = len([c for c in fakes.calls("talosctl") if c[:2] == ["cluster", "create"]])
    again = talos.create(request("one-target"))
    assert again.reused
    assert len([c for c in fakes.calls("talosctl") if c[:2] == ["cluster", "create"]]) == creates


def test_talos_delete_and_half_created_cluster(fakes: Fakes) -> None:
    talos = clusters.get("talos")
    fakes.fail("talosctl", "create")
    with pytest.raises(ToolError) as failed:
        talos.create(request("half-target"))
    assert failed.value.exit_code == 3 and "no space left" in str(failed.value)
    assert registry.read("half-target")["state"] == "failed"
    assert talos.exists("half-target")
    fakes.fail("talosctl", None)
    assert talos.delete("half-target") == "deleted"
    assert fakes.calls("talosctl")[-1][:4] == ["cluster", "destroy", "--name", "half-target"]
    assert fakes.world()["containers"] == {}
    assert not (state_dir() / "clusters" / "half-target").exists()
    assert talos.delete("half-target") == "gone"


def test_talos_leftover_containers_without_state_are_removed_through_docker(fakes: Fakes) -> None:
    talos = clusters.get("talos")
    fakes.fail("talosctl", "create")
    with pytest.raises(ToolError):
        talos.create(request("orphan-target"))
    import shutil

    shutil.rmtree(state_dir() / "clusters" / "orphan-target" / "state")  # the state is lost too
    assert talos.delete("orphan-target") == "deleted"
    assert ["rm", "-f", "-v", "orphan-target-controlplane-1"] in fakes.calls("docker")
    assert not any(c[:2] == ["cluster", "destroy"] for c in fakes.calls("talosctl"))


def test_kind_create_reuse_delete(fakes: Fakes) -> None:
    kind = clusters.get("kind")
    attached = kind.create(request("demo-target", size="medium"))
    create = next(c for c in fakes.calls("kind") if c[:2] == ["create", "cluster"])
    config = Path(create[create.index("--config") + 1])
    assert "role: worker" in config.read_text() and config.read_text().count("role: worker") == 2
    assert create[create.index("--kubeconfig") + 1] == str(attached.kubeconfig)
    assert attached.context == "kind-demo-target" and mode(attached.kubeconfig) == 0o600
    assert kind.create(request("demo-target")).reused
    health = kind.health("demo-target")
    assert health.reachable and health.version and health.nodes == 0 and not health.ok
    assert kind.delete("demo-target") == "deleted"
    assert fakes.calls("kind")[-1][:4] == ["delete", "cluster", "--name", "demo-target"]
    assert kind.delete("demo-target") == "gone"


def metal_config(reset: bool = False) -> labconfig.Loaded:
    config = LabConfig.model_validate({"talosMetal": {"resetOnDelete": reset, "clusters": {
        "hub": {"controlPlanes": ["192.0.2.10"], "workers": ["192.0.2.11"], "installDisk": "/dev/nvme0n1"}}}})
    return labconfig.Loaded(config, Path("/etc/lab.yaml"))


def test_talos_metal_applies_bootstraps_once_and_converges(fakes: Fakes) -> None:
    metal = clusters.get("talos-metal", metal_config())
    attached = metal.create(request("lab-hub", role="hub"))
    calls = fakes.calls("talosctl")
    gen = next(c for c in calls if c[:2] == ["gen", "config"])
    assert gen[2:4] == ["lab-hub", "https://192.0.2.10:6443"] and "/dev/nvme0n1" in gen
    applied = [c for c in calls if c[:1] == ["apply-config"]]
    assert [(c[c.index("--nodes") + 1], Path(c[c.index("--file") + 1]).name) for c in applied] == [
        ("192.0.2.10", "controlplane.yaml"), ("192.0.2.11", "worker.yaml")]
    assert all("--insecure" in c for c in applied)
    assert len([c for c in calls if "bootstrap" in c]) == 1
    assert attached.context == "admin@lab-hub" and mode(attached.kubeconfig) == 0o600
    before = len(calls)
    metal.create(request("lab-hub", role="hub"))  # a re-run converges: nothing applied or bootstrapped
    again = fakes.calls("talosctl")[before:]
    assert not [c for c in again if c[:1] == ["apply-config"] or "bootstrap" in c or c[:2] == ["gen", "config"]]
    assert metal.delete("lab-hub") == "kept"  # the home lab keeps running by default
    assert not [c for c in fakes.calls("talosctl") if "reset" in c]


def test_talos_metal_reset_on_delete_and_missing_nodes(fakes: Fakes) -> None:
    metal = clusters.get("talos-metal", metal_config(reset=True))
    metal.create(request("lab-hub", role="hub"))
    assert metal.delete("lab-hub") == "deleted"
    resets = [c for c in fakes.calls("talosctl") if "reset" in c]
    assert [c[c.index("--nodes") + 1] for c in resets] == ["192.0.2.11", "192.0.2.10"]
    with pytest.raises(ConfigError, match=r"talosMetal.clusters.target.controlPlanes to /etc/lab.yaml"):
        metal.create(request("demo-target"))


def test_existing_is_never_deleted(fakes: Fakes) -> None:
    existing = clusters.get("existing")
    assert existing.delete("anything") == "kept"
    assert fakes.calls("kind") == [] and fakes.calls("talosctl") == [] and fakes.calls("docker") == []


def test_default_provider_per_machine(fakes: Fakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert clusters.resolve_default()[0] == "talos"
    fakes.remove("talosctl")
    assert clusters.resolve_default() == ("kind", "talosctl not found: a kind cluster instead")
    fakes.docker_daemon = False
    fakes.install("docker")
    with pytest.raises(ToolError, match="Docker is not running"):
        clusters.resolve_default()
    kubeconfig = tmp_path / "kube.yaml"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: laptop\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    provider, why = clusters.resolve_default()
    assert provider == "existing" and "no Docker engine" in why and "'laptop'" in why
    fakes.remove("kind")
    fakes.remove("docker")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(ToolError, match="install Docker with talosctl"):
        clusters.resolve_default()


def test_progress_label_counts_elapsed_time_at_each_refresh() -> None:
    from illm_lab.ui.runs import _Elapsed

    now = [100.0]
    label = _Elapsed({"hub": ("cluster", 90.0)}, lambda: now[0])
    assert label.__rich__() == "hub: cluster (10s)"
    now[0] = 135.4
    assert label.__rich__() == "hub: cluster (45s)"


def test_local_providers_need_a_docker_engine(fakes: Fakes) -> None:
    fakes.docker_daemon = False
    fakes.install("docker")
    for name in ("talos", "kind"):
        with pytest.raises(ToolError, match=f"provider {name} runs its nodes in Docker, and no Docker engine"):
            clusters.get(name).create(request("demo-target"))
    assert not [c for c in fakes.calls("talosctl") if c[:2] == ["cluster", "create"]]
    assert not [c for c in fakes.calls("kind") if c[:2] == ["create", "cluster"]]
