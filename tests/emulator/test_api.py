"""The emulator's API-server semantics as the official Python client (typed and dynamic) sees them."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.emulator.conftest import raw_request
from tests.support.emulator import LabEmulator

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(15)]


def _deployment(name: str, *, image: str = "nginx:1", replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image},
                                        {"name": "sidecar", "image": "busybox"}]},
            },
        },
    }


def test_namespace_create_and_stamped_metadata(core: client.CoreV1Api) -> None:
    ns = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="lab")))
    assert ns.metadata.uid and ns.metadata.creation_timestamp is not None
    assert ns.status.phase == "Active"
    cm1 = core.create_namespaced_config_map("lab", {"metadata": {"name": "a"}})
    cm2 = core.create_namespaced_config_map("lab", {"metadata": {"name": "b"}})
    assert int(cm2.metadata.resource_version) > int(cm1.metadata.resource_version) > int(
        ns.metadata.resource_version)
    assert cm1.metadata.uid != cm2.metadata.uid
    assert cm1.metadata.generation == 1
    assert {n.metadata.name for n in core.list_namespace().items} >= {"default", "kube-system", "lab"}


def test_create_in_missing_namespace_is_404_and_duplicate_is_409(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "a"}})
    assert missing.value.status == 404
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    with pytest.raises(ApiException) as dup:
        core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert dup.value.status == 409 and "AlreadyExists" in dup.value.body


def test_lists_carry_kind_api_version_and_resource_version(
    core: client.CoreV1Api, emulator: LabEmulator
) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    raw = raw_request(emulator.url, "GET", "/api/v1/namespaces/default/configmaps").json()
    assert raw["kind"] == "ConfigMapList" and raw["apiVersion"] == "v1"
    assert int(raw["metadata"]["resourceVersion"]) >= int(raw["items"][0]["metadata"]["resourceVersion"])


def test_label_and_field_selectors(core: client.CoreV1Api) -> None:
    for name, labels in [("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}), ("c", {})]:
        core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": labels}})

    def names(**kwargs: str) -> list[str]:
        return [i.metadata.name for i in core.list_namespaced_config_map("default", **kwargs).items]

    assert names(label_selector="tier=web") == ["a"]
    assert names(label_selector="tier!=web") == ["b", "c"]
    assert names(label_selector="tier in (web,db)") == ["a", "b"]
    assert names(label_selector="tier notin (web)") == ["b", "c"]
    assert names(label_selector="env") == ["a"]
    assert names(label_selector="!env") == ["b", "c"]
    assert names(label_selector="tier,env=prod") == ["a"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b") == ["a", "c"]
    cluster_wide = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=default")
    assert len(cluster_wide.items) == 3
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_config_map("default", label_selector="tier in (")
    assert bad.value.status == 400


def test_put_replaces_and_checks_resource_version(core: client.CoreV1Api) -> None:
    cm = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"x": "1", "y": "2"}})
    cm.data = {"z": "3"}
    updated = core.replace_namespaced_config_map("a", "default", cm)
    assert updated.data == {"z": "3"}
    cm.data = {"stale": "write"}
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("a", "default", cm)  # carries the old resourceVersion
    assert stale.value.status == 409
    with pytest.raises(ApiException) as missing:
        core.replace_namespaced_config_map("b", "default", {"metadata": {"name": "b"}})
    assert missing.value.status == 404


def test_strategic_merge_merges_containers_by_name(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", _deployment("web"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}}
    updated = apps.patch_namespaced_deployment("web", "default", patch)  # dict bodies go as SMP
    images = {c.name: c.image for c in updated.spec.template.spec.containers}
    assert images == {"main": "nginx:2", "sidecar": "busybox"}
    assert updated.metadata.generation == 2
    deleting = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    updated = apps.patch_namespaced_deployment("web", "default", deleting)
    assert [c.name for c in updated.spec.template.spec.containers] == ["main"]


def test_merge_patch_and_json_patch(api: client.ApiClient, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a", "labels": {"k": "v"}},
                                                  "data": {"x": "1", "y": "2"}})
    merged = core.patch_namespaced_config_map("a", "default", {"data": {"x": None, "z": "3"}},
                                              _content_type="application/merge-patch+json")
    assert merged.data == {"y": "2", "z": "3"}
    ops = [{"op": "add", "path": "/metadata/labels/n", "value": "m"},
           {"op": "remove", "path": "/data/y"},
           {"op": "test", "path": "/data/z", "value": "3"}]
    patched = core.patch_namespaced_config_map("a", "default", ops)
    assert patched.metadata.labels == {"k": "v", "n": "m"} and patched.data == {"z": "3"}
    with pytest.raises(ApiException) as failed:
        core.patch_namespaced_config_map("a", "default", [{"op": "test", "path": "/data/z", "value": "x"}])
    assert failed.value.status == 422


def test_no_op_write_keeps_resource_version(core: client.CoreV1Api) -> None:
    cm = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"x": "1"}})
    again = core.patch_namespaced_config_map("a", "default", {"data": {"x": "1"}})
    assert again.metadata.resource_version == cm.metadata.resource_version


def test_status_subresource_is_separate(apps: client.AppsV1Api, emulator: LabEmulator) -> None:
    created = apps.create_namespaced_deployment("default", {**_deployment("web"), "status": {"replicas": 9}})
    assert created.status is None or created.status.replicas is None
    apps.patch_namespaced_deployment("web", "default", {"status": {"replicas": 7}})
    assert emulator.get("apps/v1", "Deployment", "default", "web").get("status", {}).get("replicas") is None
    apps.patch_namespaced_deployment_status("web", "default", {"status": {"replicas": 3}})
    stored = emulator.get("apps/v1", "Deployment", "default", "web")
    assert stored["status"]["replicas"] == 3
    assert stored["metadata"]["generation"] == 1  # status writes do not bump generation


def test_dry_run_returns_the_object_without_storing_it(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    would_be = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"x": "1"}},
                                                 dry_run="All")
    assert would_be.metadata.name == "a" and would_be.data == {"x": "1"}
    assert emulator.get("v1", "ConfigMap", "default", "a") is None
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"x": "1"}})
    patched = core.patch_namespaced_config_map("a", "default", {"data": {"x": "2"}}, dry_run="All")
    assert patched.data == {"x": "2"}
    assert emulator.get("v1", "ConfigMap", "default", "a")["data"] == {"x": "1"}
    assert not [r for r in emulator.writes if r.query.get("dryRun") != "All" and r.method == "PATCH"]


def test_finalizers_hold_deletion_until_removed(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a", "finalizers": ["lab/hold"]}})
    core.delete_namespaced_config_map("a", "default")
    lingering = emulator.get("v1", "ConfigMap", "default", "a")
    assert lingering is not None and lingering["metadata"]["deletionTimestamp"]
    emulator.patch_object("v1", "ConfigMap", "default", "a", {"metadata": {"finalizers": None}})
    assert emulator.get("v1", "ConfigMap", "default", "a") is None


@pytest.mark.parametrize("policy", ["Background", "Foreground"])
def test_deletion_cascades_to_dependents(core: client.CoreV1Api, emulator: LabEmulator, policy: str) -> None:
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map("default", {"metadata": {"name": "dep", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("owner", "default", propagation_policy=policy)
    assert emulator.get("v1", "ConfigMap", "default", "owner") is None
    assert emulator.get("v1", "ConfigMap", "default", "dep") is None


def test_orphan_deletion_keeps_dependents(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map("default", {"metadata": {"name": "dep", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Orphan")
    dep = emulator.get("v1", "ConfigMap", "default", "dep")
    assert dep is not None and "ownerReferences" not in dep["metadata"]


def test_namespace_delete_cascades(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "a"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "held", "finalizers": ["lab/x"]}})
    core.delete_namespace("doomed")
    ns = core.read_namespace("doomed")
    assert ns.status.phase == "Terminating"
    assert emulator.get("v1", "ConfigMap", "doomed", "a") is None
    with pytest.raises(ApiException) as forbidden:
        core.create_namespaced_config_map("doomed", {"metadata": {"name": "new"}})
    assert forbidden.value.status == 403
    emulator.patch_object("v1", "ConfigMap", "doomed", "held", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespace("doomed")
    assert gone.value.status == 404


def test_secret_string_data_and_service_defaults(core: client.CoreV1Api) -> None:
    secret = core.create_namespaced_secret("default", {"metadata": {"name": "s"}, "stringData": {"pw": "hunter2"}})
    assert secret.data == {"pw": "aHVudGVyMg=="} and secret.type == "Opaque"
    svc = core.create_namespaced_service("default", {"metadata": {"name": "web"},
                                                     "spec": {"ports": [{"port": 80}]}})
    assert svc.spec.cluster_ip and svc.spec.type == "ClusterIP"
    assert svc.spec.ports[0].protocol == "TCP" and svc.spec.ports[0].target_port == 80


def test_dynamic_client_round_trip(emulator: LabEmulator) -> None:
    dyn: DynamicClient = emulator.dynamic_client()
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    deployments.create(body=_deployment("web"), namespace="default")
    listed = deployments.get(namespace="default")
    assert listed.kind == "DeploymentList" and [i.metadata.name for i in listed.items] == ["web"]
    patched = deployments.patch(name="web", namespace="default", body={"spec": {"replicas": 3}},
                                content_type="application/merge-patch+json")
    assert patched.spec.replicas == 3
    deployments.delete(name="web", namespace="default")
    assert deployments.get(namespace="default").items == []


def test_kmock_dsl_reactions_take_precedence(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    emulator["get /api/v1/namespaces/default/configmaps/special"] << {"kind": "ConfigMap", "apiVersion": "v1",
                                                                       "metadata": {"name": "special"},
                                                                       "data": {"from": "reaction"}}
    assert core.read_namespaced_config_map("special", "default").data == {"from": "reaction"}
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("other", "default")


def test_unsupported_protobuf_body_is_refused_cleanly(emulator: LabEmulator) -> None:
    envelope = b"k8s\x00\x0a\x0e\x0a\x07apps/v1\x12\x03Foo"
    refused = raw_request(emulator.url, "POST", "/apis/apps/v1/namespaces/default/deployments", envelope,
                          {"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert refused.status == 415
    assert refused.json()["kind"] == "Status" and refused.json()["reason"] == "UnsupportedMediaType"


def test_pagination_and_delete_collection(core: client.CoreV1Api) -> None:
    for name in ("a", "b", "c"):
        core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": {"batch": "1"}}})
    first = core.list_namespaced_config_map("default", limit=2)
    assert [i.metadata.name for i in first.items] == ["a", "b"] and first.metadata.remaining_item_count == 1
    rest = core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    assert [i.metadata.name for i in rest.items] == ["c"] and not rest.metadata._continue
    core.delete_collection_namespaced_config_map("default", label_selector="batch=1")
    assert core.list_namespaced_config_map("default").items == []


def test_scale_subresource(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", _deployment("web", replicas=2))
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert scale.spec.replicas == 2 and scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 4
