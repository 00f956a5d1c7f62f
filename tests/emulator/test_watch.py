"""Watches: initial events, timeoutSeconds, resourceVersion resume, 410 Gone, selectors, controller writes."""

from __future__ import annotations

import threading
import urllib.request
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.support.emulator import LabEmulator

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(15)]


def _events(core: client.CoreV1Api, count: int | None = None, **kwargs: Any) -> list[tuple[str, str]]:
    """Watch config maps; stop after `count` events (else at the server's timeoutSeconds)."""
    w = watch.Watch()
    kwargs.setdefault("timeout_seconds", 2)
    seen: list[tuple[str, str]] = []
    for event in w.stream(core.list_namespaced_config_map, "default", **kwargs):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == count:
            w.stop()
    return seen


def test_idle_watch_ends_at_timeout_seconds(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert _events(core, timeout_seconds=1) == [("ADDED", "a")]


def test_resume_from_resource_version_sends_only_later_events(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    core.patch_namespaced_config_map("b", "default", {"data": {"x": "1"}})
    core.delete_namespaced_config_map("a", "default")
    assert _events(core, 3, resource_version=rv) == [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "a")]


def test_resume_after_compaction_is_410_gone(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    emulator.compact()
    with pytest.raises(ApiException) as gone:
        _events(core, 1, resource_version=rv)
    assert gone.value.status == 410


def test_label_selector_watch_sees_objects_enter_and_leave(core: client.CoreV1Api, emulator: LabEmulator) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a", "labels": {"team": "x"}}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    emulator.patch_object("v1", "ConfigMap", "default", "b", {"metadata": {"labels": {"team": "x"}}})
    emulator.patch_object("v1", "ConfigMap", "default", "a", {"metadata": {"labels": {"team": "y"}}})
    emulator.patch_object("v1", "ConfigMap", "default", "b", {"data": {"k": "v"}})
    got = _events(core, 3, resource_version=rv, label_selector="team=x")
    assert got == [("ADDED", "b"), ("DELETED", "a"), ("MODIFIED", "b")]


def test_field_selector_watch(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    assert _events(core, 1, field_selector="metadata.name=b") == [("ADDED", "b")]
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    core.patch_namespaced_config_map("b", "default", {"data": {"k": "v"}})
    assert _events(core, 1, resource_version=rv, field_selector="metadata.name=b") == [("MODIFIED", "b")]


def test_live_events_include_controller_writes(apps: client.AppsV1Api, emulator: LabEmulator) -> None:
    apps.create_namespaced_deployment("default", {
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    seen: list[tuple[str, int | None]] = []
    w = watch.Watch()
    started = threading.Event()

    def consume() -> None:
        for event in w.stream(apps.list_namespaced_deployment, "default", timeout_seconds=2):
            status = event["object"].status
            seen.append((event["type"], status.ready_replicas if status else None))
            started.set()
            if len(seen) == 2:
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    assert started.wait(2)
    emulator.set_status("apps/v1", "Deployment", "default", "web", {"readyReplicas": 1, "replicas": 1})
    thread.join(2)
    assert seen == [("ADDED", None), ("MODIFIED", 1)]


def test_send_initial_events_ends_with_a_bookmark(emulator: LabEmulator) -> None:
    emulator.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    url = (emulator.url + "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true"
           "&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
    with urllib.request.urlopen(url, timeout=2) as stream:
        lines = [stream.readline().decode(), stream.readline().decode()]
    assert '"ADDED"' in lines[0]
    assert '"BOOKMARK"' in lines[1] and "k8s.io/initial-events-end" in lines[1]
