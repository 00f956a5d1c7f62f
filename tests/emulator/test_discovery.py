"""Discovery, version and OpenAPI documents the emulator serves."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.emulator.conftest import raw_request
from tests.support.emulator import LabEmulator

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(15)]


def test_core_discovery_reports_group_version_v1(emulator: LabEmulator) -> None:
    assert raw_request(emulator.url, "GET", "/api").json()["versions"] == ["v1"]
    core = raw_request(emulator.url, "GET", "/api/v1").json()
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    names = {r["name"] for r in core["resources"]}
    assert {"namespaces", "pods", "pods/log", "pods/portforward", "services/proxy"} <= names


def test_group_discovery(emulator: LabEmulator) -> None:
    groups = {g["name"]: g for g in raw_request(emulator.url, "GET", "/apis").json()["groups"]}
    assert groups["apps"]["preferredVersion"]["groupVersion"] == "apps/v1"
    assert groups["autoscaling"]["preferredVersion"]["version"] == "v2"
    assert "gateway.networking.k8s.io" not in groups  # an add-on on real clusters: comes from CRDs
    apps = raw_request(emulator.url, "GET", "/apis/apps/v1").json()
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert raw_request(emulator.url, "GET", "/apis/nope.example.com/v1").status == 404


def test_version_and_health(api: client.ApiClient, emulator: LabEmulator) -> None:
    version = client.VersionApi(api).get_code()
    assert (version.major, version.minor) == ("1", "32")
    assert raw_request(emulator.url, "GET", "/readyz").body == b"ok"


def test_openapi_stubs(emulator: LabEmulator) -> None:
    root = raw_request(emulator.url, "GET", "/openapi/v3").json()
    apps_url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    apps = raw_request(emulator.url, "GET", apps_url).json()
    patch = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])
    v2 = raw_request(emulator.url, "GET", "/openapi/v2",
                     headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert v2.status == 200 and v2.body.startswith(b"\n\x032.0")
    assert raw_request(emulator.url, "GET", "/openapi/v2").json()["swagger"] == "2.0"


def test_protobuf_only_accept_is_not_acceptable(emulator: LabEmulator) -> None:
    response = raw_request(emulator.url, "GET", "/api/v1/namespaces",
                           headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert response.status == 406 and response.json()["reason"] == "NotAcceptable"
    mixed = raw_request(emulator.url, "GET", "/api/v1/namespaces",
                        headers={"Accept": "application/vnd.kubernetes.protobuf, application/json"})
    assert mixed.status == 200 and mixed.headers["Content-Type"].startswith("application/json")
