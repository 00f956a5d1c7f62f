"""Server-side apply in the emulator: creation, ownership, field removal, conflicts, force, dry run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.support.emulator import LabEmulator
from tests.support.emulator_patch import from_fields_v1

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(15)]


def _config(labels: dict[str, str], replicas: int | None = 2, env: list[dict[str, str]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": "nginx:1"}
    if env is not None:
        container["env"] = env
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels},
        "spec": spec,
    }


@pytest.fixture
def deployments(emulator: LabEmulator) -> Any:
    dyn: DynamicClient = emulator.dynamic_client()
    return dyn, dyn.resources.get(api_version="apps/v1", kind="Deployment")


def _apply(deployments: Any, body: dict[str, Any], manager: str = "lab", **kwargs: Any) -> Any:
    dyn, resource = deployments
    return dyn.server_side_apply(resource, body=body, field_manager=manager, **kwargs)


def test_apply_creates_then_is_a_no_op(deployments: Any, emulator: LabEmulator) -> None:
    created = _apply(deployments, _config({"app": "web"}))
    assert created.metadata.uid and created.spec.replicas == 2
    again = _apply(deployments, _config({"app": "web"}))
    assert again.metadata.resourceVersion == created.metadata.resourceVersion
    entries = [(m.manager, m.operation) for m in again.metadata.managedFields]
    assert entries == [("lab", "Apply")]


def test_dropping_a_field_removes_it(deployments: Any) -> None:
    _apply(deployments, _config({"app": "web", "tier": "front"},
                                env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]))
    result = _apply(deployments, _config({"app": "web"}, replicas=None, env=[{"name": "A", "value": "1"}]))
    assert dict(result.metadata.labels) == {"app": "web"}
    assert [e.name for e in result.spec.template.spec.containers[0].env] == ["A"]
    assert result.spec.replicas == 1  # no longer applied by anyone: back to the server default


def test_fields_owned_by_another_manager_survive_removal(deployments: Any) -> None:
    _apply(deployments, _config({"app": "web", "tier": "front"}), manager="first")
    _apply(deployments, {"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}}},
           manager="second")
    result = _apply(deployments, _config({"app": "web"}), manager="first")
    assert dict(result.metadata.labels) == {"app": "web", "tier": "front"}


def test_conflict_then_force(deployments: Any) -> None:
    _apply(deployments, _config({"app": "web"}, replicas=2), manager="first")
    with pytest.raises(ApiException) as conflict:
        _apply(deployments, _config({"app": "web"}, replicas=5), manager="second")
    assert conflict.value.status == 409
    status = json.loads(conflict.value.body)
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "first": .spec.replicas'

    forced = _apply(deployments, _config({"app": "web"}, replicas=5), manager="second", force_conflicts=True)
    assert forced.spec.replicas == 5
    owners = {m.manager: from_fields_v1(m.fieldsV1.to_dict()) for m in forced.metadata.managedFields}
    assert ("f:spec", "f:replicas") in owners["second"]
    assert ("f:spec", "f:replicas") not in owners["first"]


def test_same_value_is_shared_without_conflict(deployments: Any) -> None:
    _apply(deployments, _config({"app": "web"}, replicas=2), manager="first")
    shared = _apply(deployments, _config({"app": "web"}, replicas=2), manager="second")
    assert {m.manager for m in shared.metadata.managedFields} == {"first", "second"}


def test_update_after_apply_takes_ownership(deployments: Any, emulator: LabEmulator) -> None:
    _apply(deployments, _config({"app": "web"}, replicas=2))
    emulator.patch_object("apps/v1", "Deployment", "default", "web", {"spec": {"replicas": 4}},
                          manager="kubectl-scale")
    with pytest.raises(ApiException) as conflict:
        _apply(deployments, _config({"app": "web"}, replicas=3))
    assert 'conflict with "kubectl-scale"' in json.loads(conflict.value.body)["message"]


def test_apply_dry_run_stores_nothing(deployments: Any, emulator: LabEmulator) -> None:
    result = _apply(deployments, _config({"app": "web"}), dry_run="All")
    assert result.metadata.name == "web"
    assert emulator.get("apps/v1", "Deployment", "default", "web") is None


def test_apply_requires_field_manager(emulator: LabEmulator) -> None:
    from tests.emulator.conftest import raw_request

    response = raw_request(emulator.url, "PATCH", "/api/v1/namespaces/default/configmaps/x",
                           b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
                           {"Content-Type": "application/apply-patch+yaml"})
    assert response.status == 400
    created = raw_request(emulator.url, "PATCH", "/api/v1/namespaces/default/configmaps/x?fieldManager=t",
                          b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
                          {"Content-Type": "application/apply-patch+yaml"})
    assert created.status == 201 and created.json()["data"] == {"a": "b"}
