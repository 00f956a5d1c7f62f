"""`lab hub bootstrap | status | destroy` end to end: fake talosctl/kind/docker create the hub
"cluster" (a kubeconfig for the API emulator), the real helm renders a platform of local fixture
charts, the engine applies it, and a fake OpenBao is initialised and unsealed through the
service proxy."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from illm_lab.base.paths import state_dir
from illm_lab.ledger import Ledger
from tests.clusters.conftest import lab
from tests.support.emulator import LabEmulator
from tests.support.fakebao import BaoState
from tests.support.fakebin import require_real_helm
from tests.support.fakeclusters import Fakes

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(120)]
INSTANCE_LABEL = "lab.illm.io/instance"


@pytest.fixture(autouse=True)
def _helm() -> None:
    require_real_helm()


def hub_objects(emulator: LabEmulator) -> list[str]:
    found = []
    for api_version, kind in [("v1", "Namespace"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
                              ("v1", "Service"), ("v1", "ConfigMap")]:
        for obj in emulator.list(api_version, kind):
            if ((obj.get("metadata") or {}).get("labels") or {}).get(INSTANCE_LABEL) == "lab-hub":
                found.append(f"{kind}/{obj['metadata']['name']}")
    return sorted(found)


def creates(fakes: Fakes, tool: str) -> list[list[str]]:
    return [c for c in fakes.calls(tool) if c[:2] in (["cluster", "create"], ["create", "cluster"])]


def test_bootstrap_rerun_status_destroy_on_talos(
    fakes: Fakes, platform_dir: Path, bao: BaoState, emulator: LabEmulator
) -> None:
    res = lab("hub", "bootstrap", "--platform", str(platform_dir), "-o", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (data["cluster"]["provider"], data["cluster"]["name"]) == ("talos", "lab-hub")
    assert data["cluster"]["context"] == "admin@lab-hub"
    [create] = creates(fakes, "talosctl")
    assert create[:3] == ["cluster", "create", "docker"] and create[create.index("--name") + 1] == "lab-hub"
    assert {"Deployment/web", "StatefulSet/openbao", "Service/openbao", "Namespace/demo"} <= set(hub_objects(emulator))
    namespace = emulator.get("v1", "Namespace", None, "demo")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    web = next(c for c in data["components"] if c["name"] == "web")
    assert web["counts"].get("created", 0) > 0
    # OpenBao: initialised once, unsealed, keys 0600 in the state dir and nowhere in the output
    assert data["openbao"]["action"] == "initialised and unsealed"
    assert bao.initialized and not bao.sealed and bao.init_calls == 1
    keys = state_dir() / "hub" / "openbao-keys.json"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert json.loads(keys.read_text())["rootToken"] == bao.root_token
    for secret in [bao.root_token, *bao.keys]:
        assert secret not in res.output
        for run in Ledger().runs(instance="lab-hub"):
            assert secret not in json.dumps(run.data)

    again = lab("hub", "bootstrap", "--platform", str(platform_dir), "-o", "json")
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    changed = [line for c in second["components"] for line in c["changed"]]
    assert changed == ["created: Job demo/web-migrate"], changed  # a hook that deletes itself re-runs
    assert second["openbao"]["action"] == "already unsealed" and bao.init_calls == 1
    assert len(creates(fakes, "talosctl")) == 1  # the hub cluster was reused

    bao.restart()  # the pod restarted: sealed again, unsealed from the stored keys
    third = lab("hub", "bootstrap", "--platform", str(platform_dir))
    assert third.exit_code == 0, third.output
    assert not bao.sealed and bao.unseal_calls == 4  # 2 at the first bootstrap, 2 now
    assert "hub platform" in third.stdout and "openbao openbao/openbao: unsealed" in third.stdout
    assert bao.root_token not in third.output
    kubeconfig = lab("kubeconfig", "hub")
    assert kubeconfig.stdout.strip() == str(state_dir() / "clusters" / "lab-hub" / "kubeconfig")

    emulator.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "lab-hub-controlplane-1"}})
    not_ready = lab("hub", "status", "--platform", str(platform_dir), "-o", "json")
    assert not_ready.exit_code == 1 and json.loads(not_ready.stdout)["cluster"]["message"] == "0/1 nodes ready"
    emulator.set_status("v1", "Node", None, "lab-hub-controlplane-1",
                        {"conditions": [{"type": "Ready", "status": "True"}]})
    status = lab("hub", "status", "--platform", str(platform_dir), "-o", "json")
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    assert report["cluster"]["reachable"] and report["cluster"]["version"]
    assert {c["name"]: c["state"] for c in report["components"]} == {"web": "ready", "openbao": "ready"}
    assert report["components"][1]["openbao"]["sealed"] is False
    table = lab("hub", "status", "--platform", str(platform_dir))
    assert "web" in table.stdout and "ready" in table.stdout

    gone = lab("hub", "destroy", "--yes", "--platform", str(platform_dir), "-o", "json")
    assert gone.exit_code == 0, gone.output
    result = json.loads(gone.stdout)
    assert result["clusters"] == [{"cluster": "hub", "name": "lab-hub", "provider": "talos", "action": "deleted"}]
    assert fakes.calls("talosctl")[-1][:4] == ["cluster", "destroy", "--name", "lab-hub"]
    assert hub_objects(emulator) == []  # objects first, then the cluster
    assert not keys.exists() and not (state_dir() / "clusters" / "lab-hub").exists()
    after = lab("hub", "status", "--platform", str(platform_dir))
    assert after.exit_code == 3 and "no hub yet" in after.stderr  # unreachable, as its help says


def test_failed_create_is_exit_3_and_destroy_removes_the_half_created_cluster(
    fakes: Fakes, platform_dir: Path, bao: BaoState
) -> None:
    fakes.fail("talosctl", "create")
    res = lab("hub", "bootstrap", "--platform", str(platform_dir))
    assert res.exit_code == 3, res.output
    assert "talosctl cluster create docker" in res.stderr and "no space left" in res.stderr
    [run] = Ledger().runs(instance="lab-hub")
    intent = run.clusters["hub"]
    assert (intent["create"], intent["name"], intent["provider"], intent["state"]) == (True, "lab-hub", "talos", "failed")
    assert run.state == "failed" and fakes.world()["containers"]  # a node container was left

    fakes.fail("talosctl", None)
    refused = lab("hub", "destroy", "--platform", str(platform_dir))  # no terminal, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    gone = lab("hub", "destroy", "--yes", "--platform", str(platform_dir))
    assert gone.exit_code == 0, gone.output
    assert fakes.calls("talosctl")[-1][:4] == ["cluster", "destroy", "--name", "lab-hub"]
    assert fakes.world()["containers"] == {} and not (state_dir() / "clusters" / "lab-hub").exists()
    assert Ledger().created_clusters("lab-hub") == {}
    quiet = lab("hub", "destroy", "--yes", "--platform", str(platform_dir), "-o", "json")
    assert quiet.exit_code == 0 and json.loads(quiet.stdout)["clusters"] == []


def test_kind_hub_and_components_subset(
    fakes: Fakes, platform_dir: Path, emulator: LabEmulator, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    res = lab("hub", "bootstrap", "--provider", "kind", "--components", "web", "--platform", str(platform_dir),
              "--events", str(events), "-o", "json")
    assert res.exit_code == 0, res.output
    seen = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["step"] for e in seen if e["event"] == "step.finished"] == ["cluster", "platform"]
    assert any(e["event"] == "message" and "creating kind cluster lab-hub" in e["message"] for e in seen)
    data = json.loads(res.stdout)
    assert data["cluster"]["provider"] == "kind" and data["openbao"] is None
    assert [c["name"] for c in data["components"]] == ["web"]
    assert "StatefulSet/openbao" not in hub_objects(emulator)
    [create] = creates(fakes, "kind")
    assert create[create.index("--name") + 1] == "lab-hub" and fakes.calls("talosctl") == []
    unknown = lab("hub", "bootstrap", "--components", "web,vault", "--platform", str(platform_dir))
    assert unknown.exit_code == 2 and "unknown vault" in unknown.stderr
    gone = lab("hub", "destroy", "-y", "--platform", str(platform_dir))
    assert gone.exit_code == 0, gone.output
    assert fakes.calls("kind")[-1][:4] == ["delete", "cluster", "--name", "lab-hub"]


def test_hub_on_an_existing_context_is_never_deleted(
    fakes: Fakes, platform_dir: Path, bao: BaoState, emulator: LabEmulator
) -> None:
    res = lab("hub", "bootstrap", "--platform", str(platform_dir), "--kubeconfig", str(emulator.kubeconfig),
              "--hub-context", "emulator", "-o", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["cluster"]["provider"] == "existing"
    assert hub_objects(emulator)
    again = lab("hub", "bootstrap", "--platform", str(platform_dir), "-o", "json")  # no flags: same hub
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["cluster"]["chosenBy"] == "the last hub bootstrap"
    gone = lab("hub", "destroy", "--yes", "--platform", str(platform_dir), "-o", "json")
    assert gone.exit_code == 0, gone.output
    assert json.loads(gone.stdout)["clusters"] == []
    assert hub_objects(emulator) == []  # the platform is removed, the cluster stays
    assert fakes.calls("talosctl") == [] and fakes.calls("kind") == []
    assert not any(c[:1] == ["rm"] for c in fakes.calls("docker"))
    assert emulator.get("v1", "Namespace", None, "default") is not None
