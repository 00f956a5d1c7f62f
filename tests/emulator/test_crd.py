"""CRDs register their kinds in discovery and serve custom resources; deleting them cleans up."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.emulator.conftest import raw_request
from tests.support.emulator import LabEmulator

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(15)]


def _crd(plural: str, kind: str, scope: str = "Namespaced") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.lab.example.com"},
        "spec": {
            "group": "lab.example.com",
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "shortNames": [kind.lower()[:3]]},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                {"name": "v1beta1", "served": True, "storage": False,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
            ],
        },
    }


@pytest.fixture
def ext(api: client.ApiClient) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(api)


@pytest.fixture
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def test_crd_is_established_and_discoverable(ext: client.ApiextensionsV1Api, emulator: LabEmulator) -> None:
    created = ext.create_custom_resource_definition(_crd("widgets", "Widget"))
    conditions = {c.type: c.status for c in created.status.conditions}
    assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    groups = raw_request(emulator.url, "GET", "/apis").json()
    group = next(g for g in groups["groups"] if g["name"] == "lab.example.com")
    assert group["preferredVersion"]["version"] == "v1"
    resources = raw_request(emulator.url, "GET", "/apis/lab.example.com/v1").json()
    names = {r["name"]: r for r in resources["resources"]}
    assert names["widgets"]["kind"] == "Widget" and names["widgets"]["namespaced"] is True
    assert names["widgets"]["shortNames"] == ["wid"] and "widgets/status" in names


def test_namespaced_custom_resource_round_trip(
    ext: client.ApiextensionsV1Api, custom: client.CustomObjectsApi, emulator: LabEmulator
) -> None:
    ext.create_custom_resource_definition(_crd("widgets", "Widget"))
    body = {"apiVersion": "lab.example.com/v1", "kind": "Widget", "metadata": {"name": "w1"},
            "spec": {"size": 3}}
    created = custom.create_namespaced_custom_object("lab.example.com", "v1", "default", "widgets", body)
    assert created["metadata"]["uid"] and created["spec"] == {"size": 3}
    custom.patch_namespaced_custom_object("lab.example.com", "v1", "default", "widgets", "w1",
                                          {"spec": {"size": 4}})
    fetched = custom.get_namespaced_custom_object("lab.example.com", "v1", "default", "widgets", "w1")
    assert fetched["spec"] == {"size": 4} and fetched["metadata"]["generation"] == 2
    custom.patch_namespaced_custom_object_status("lab.example.com", "v1", "default", "widgets", "w1",
                                                 {"status": {"phase": "Ready"}})
    as_beta = custom.get_namespaced_custom_object("lab.example.com", "v1beta1", "default", "widgets", "w1")
    assert as_beta["apiVersion"] == "lab.example.com/v1beta1" and as_beta["status"] == {"phase": "Ready"}
    listed = custom.list_namespaced_custom_object("lab.example.com", "v1", "default", "widgets")
    assert listed["kind"] == "WidgetList" and [i["metadata"]["name"] for i in listed["items"]] == ["w1"]
    assert emulator.get("lab.example.com/v1", "Widget", "default", "w1")["status"] == {"phase": "Ready"}


def test_cluster_scoped_custom_resource(ext: client.ApiextensionsV1Api, custom: client.CustomObjectsApi) -> None:
    ext.create_custom_resource_definition(_crd("gadgets", "Gadget", scope="Cluster"))
    custom.create_cluster_custom_object("lab.example.com", "v1", "gadgets",
                                        {"apiVersion": "lab.example.com/v1", "kind": "Gadget",
                                         "metadata": {"name": "g1"}})
    fetched = custom.get_cluster_custom_object("lab.example.com", "v1", "gadgets", "g1")
    assert "namespace" not in fetched["metadata"]


def test_custom_resources_reject_strategic_merge(ext: client.ApiextensionsV1Api, emulator: LabEmulator) -> None:
    ext.create_custom_resource_definition(_crd("widgets", "Widget"))
    emulator.create({"apiVersion": "lab.example.com/v1", "kind": "Widget",
                     "metadata": {"name": "w1", "namespace": "default"}})
    response = raw_request(emulator.url, "PATCH", "/apis/lab.example.com/v1/namespaces/default/widgets/w1",
                           b'{"spec": {}}', {"Content-Type": "application/strategic-merge-patch+json"})
    assert response.status == 415


def test_deleting_the_crd_removes_kind_and_objects(
    ext: client.ApiextensionsV1Api, custom: client.CustomObjectsApi, emulator: LabEmulator
) -> None:
    ext.create_custom_resource_definition(_crd("widgets", "Widget"))
    emulator.create({"apiVersion": "lab.example.com/v1", "kind": "Widget",
                     "metadata": {"name": "w1", "namespace": "default"}})
    ext.delete_custom_resource_definition("widgets.lab.example.com")
    assert raw_request(emulator.url, "GET", "/apis/lab.example.com/v1").status == 404
    with pytest.raises(ApiException) as gone:
        custom.list_namespaced_custom_object("lab.example.com", "v1", "default", "widgets")
    assert gone.value.status == 404
    ext.create_custom_resource_definition(_crd("widgets", "Widget"))
    assert custom.list_namespaced_custom_object("lab.example.com", "v1", "default", "widgets")["items"] == []


def test_dynamic_client_discovers_new_kinds(ext: client.ApiextensionsV1Api, emulator: LabEmulator) -> None:
    ext.create_custom_resource_definition(_crd("widgets", "Widget"))
    dyn = emulator.dynamic_client()
    widgets = dyn.resources.get(api_version="lab.example.com/v1", kind="Widget")
    widgets.create(body={"apiVersion": "lab.example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
                   namespace="default")
    assert [w.metadata.name for w in widgets.get(namespace="default").items] == ["w"]


def test_unestablished_crds_until_a_controller_says_so(tmp_path: Any) -> None:
    emu = LabEmulator(crd_auto_establish=False).start(tmp_path)
    try:
        emu.create(_crd("widgets", "Widget"))
        crd = emu.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.lab.example.com")
        assert not (crd.get("status") or {}).get("conditions")
        emu.auto_ready("CustomResourceDefinition", after=0)
        crd = emu.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.lab.example.com")
        assert any(c["type"] == "Established" for c in crd["status"]["conditions"])
    finally:
        emu.stop()
