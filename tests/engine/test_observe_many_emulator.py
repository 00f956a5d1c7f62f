"""Tier 2: following every object a selector matches (`Cluster.observe_many`), through a watch
whose resourceVersion expires meanwhile; and Cancel children."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from illm_lab import kube
from illm_lab.kube import Cancel
from tests.support.emulator import LabEmulator
from tests.support.faultproxy import FaultProxy, Hold

pytestmark = pytest.mark.emulator


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "x"}]}}


def test_observe_many_lists_follows_and_resyncs_after_the_version_expired(
    emulator: LabEmulator, fault_proxy_factory: Callable[..., FaultProxy],
) -> None:
    proxy = fault_proxy_factory(emulator.kubeconfig)
    proxy.add(Hold(), watch=True, nth=1)
    for obj in (pod("a", app="web"), pod("b", app="web"), pod("other", app="db")):
        emulator.create(obj)
    seen: list[tuple[str, str, str]] = []

    def follow(cluster: kube.Cluster) -> None:
        for change, obj in cluster.observe_many("v1", "Pod", "default", label_selector="app=web",
                                                deadline=time.monotonic() + 10):
            seen.append((change, obj["kind"], obj["metadata"]["name"]))
            if change == "DELETED":
                return

    with kube.connect(proxy.kubeconfig, None) as cluster, ThreadPoolExecutor(1) as pool:
        fut = pool.submit(follow, cluster)
        proxy.wait_held(timeout=5)
        emulator.delete("v1", "Pod", "default", "b")
        emulator.create(pod("c", app="web"))
        emulator.compact()  # the held watch's resourceVersion is now too old: 410 Gone
        proxy.release()
        fut.result(10)
    assert seen == [("ADDED", "Pod", "a"), ("ADDED", "Pod", "b"),  # the first list
                    ("MODIFIED", "Pod", "a"), ("ADDED", "Pod", "c"), ("DELETED", "Pod", "b")]  # the relist
    lists = [r.target for r in proxy.log if "watch=" not in r.target and "/pods" in r.target]
    assert len(lists) == 2 and all("labelSelector=app%3Dweb" in t for t in lists)


def test_observe_many_yields_changes_until_cancelled(emulator: LabEmulator) -> None:
    emulator.create(pod("a", app="web"))
    cancel = Cancel()
    seen: list[tuple[str, str]] = []
    with kube.connect(emulator.kubeconfig, "emulator") as cluster:
        for change, obj in cluster.observe_many("v1", "Pod", "default", deadline=time.monotonic() + 10,
                                                cancel=cancel):
            seen.append((change, obj["metadata"]["name"]))
            if change == "ADDED":
                emulator.set_status("v1", "Pod", "default", "a", {"phase": "Running"})
            elif change == "MODIFIED":
                emulator.delete("v1", "Pod", "default", "a")
            else:
                cancel.set()
    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_a_cancel_child_ends_with_its_parent_but_not_the_other_way() -> None:
    parent = Cancel()
    first, second = parent.child(), parent.child()
    first.set()
    assert first.is_set() and not parent.is_set() and not second.is_set()
    parent.set()
    assert second.is_set() and parent.child().is_set()
