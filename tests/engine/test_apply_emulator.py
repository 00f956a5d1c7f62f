"""Tier 2: the engine's apply -> re-apply -> change -> drift -> prune -> delete cycle on the emulator.

"No spurious writes" is asserted from the emulator's request log: a re-apply of unchanged
objects sends no POST/PUT/PATCH/DELETE at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from illm_lab import kube
from illm_lab.base.identity import ObjectRef
from illm_lab.engine import prune
from illm_lab.engine.apply import Applier, ApplyReport, plan
from illm_lab.engine.inventory import ANNOTATION_HASH, LABEL_INSTANCE, Inventory
from illm_lab.kube import errors as kerrors
from illm_lab.ledger import Ledger
from tests.engine import objects as o
from tests.support.emulator import LabEmulator

pytestmark = pytest.mark.emulator
INV = Inventory("demo", "demo")


@pytest.fixture
def cluster(emulator: LabEmulator) -> Iterator[kube.Cluster]:
    with kube.connect(emulator.kubeconfig, "emulator") as c:
        yield c


def rendered(cm_b: str = "one", with_b: bool = True) -> list[tuple[str, list[dict[str, Any]]]]:
    app = [o.configmap("a", "demo"), o.secret("s", "demo"), o.service("svc", "demo"),
           o.deployment("web", "demo", replicas=2)]
    if with_b:
        app.append(o.configmap("b", "demo", value=cm_b))
    return [("namespaces", [o.namespace("demo")]), ("app", app)]


def apply(cluster: kube.Cluster, ledger: Ledger, comps: list[tuple[str, list[dict[str, Any]]]],
          **kwargs: Any) -> ApplyReport:
    with ledger.start(o.experiment(), {}, instance=INV.instance, command="apply") as run:
        applier = Applier(cluster, INV, recorder=run.recorder("target"),
                          previous=ledger.live_hashes(INV.instance, "target"), **kwargs)
        return applier.apply(plan(comps, INV))


def writes(emulator: LabEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emulator.writes]


def test_full_cycle(emulator: LabEmulator, cluster: kube.Cluster, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state")

    first = apply(cluster, ledger, rendered())
    assert first.counts() == {"created": 6}
    live = emulator.get("v1", "ConfigMap", "demo", "a")
    assert live is not None
    labels = live["metadata"]["labels"]
    assert labels == {"lab.illm.io/experiment": "demo", "lab.illm.io/component": "app",
                      "lab.illm.io/instance": "demo"}
    assert ANNOTATION_HASH in live["metadata"]["annotations"]
    deploy = emulator.get("apps/v1", "Deployment", "demo", "web")
    assert deploy is not None
    # inventory labels on top-level metadata only: never in selectors or pod templates
    assert LABEL_INSTANCE not in deploy["spec"]["selector"]["matchLabels"]
    assert LABEL_INSTANCE not in deploy["spec"]["template"]["metadata"]["labels"]
    assert deploy["metadata"]["managedFields"][0]["manager"] == "illm-lab"

    # re-apply, unchanged: not a single write
    emulator.clear_requests()
    rv_before = emulator.resource_version
    second = apply(cluster, ledger, rendered())
    assert second.counts() == {"unchanged": 6}
    assert writes(emulator) == []
    assert emulator.resource_version == rv_before

    # change one object: exactly one write, to that object
    emulator.clear_requests()
    third = apply(cluster, ledger, rendered(cm_b="two"))
    assert third.counts() == {"unchanged": 5, "configured": 1}
    assert writes(emulator) == [("PATCH", "/api/v1/namespaces/demo/configmaps/b")]
    assert (emulator.get("v1", "ConfigMap", "demo", "b") or {})["data"] == {"value": "two"}

    # drift made by someone else is corrected, and only that object is written
    emulator.patch_object("apps/v1", "Deployment", "demo", "web", {"spec": {"replicas": 5}})
    emulator.clear_requests()
    fourth = apply(cluster, ledger, rendered(cm_b="two"))
    assert fourth.counts() == {"unchanged": 5, "configured": 1}
    assert writes(emulator) == [("PATCH", "/apis/apps/v1/namespaces/demo/deployments/web")]
    assert (emulator.get("apps/v1", "Deployment", "demo", "web") or {})["spec"]["replicas"] == 2

    # prune: b is no longer rendered
    desired = plan(rendered(with_b=False), INV)
    apply(cluster, ledger, rendered(with_b=False))
    previous = ledger.outstanding(INV.instance)["target"].refs
    live_refs = prune.labelled(cluster, INV, {(r.api_version, r.kind) for r in previous})
    stale = prune.stale([d.ref for d in desired], previous, live_refs)
    assert stale == [ObjectRef("v1", "ConfigMap", "b", "demo")]
    removed = prune.delete_all(cluster, stale, deadline=time.monotonic() + 10)
    assert [r.action for r in removed] == ["deleted"]
    assert emulator.get("v1", "ConfigMap", "demo", "b") is None
    assert emulator.get("v1", "ConfigMap", "demo", "a") is not None

    # delete everything, in reverse order: namespaced objects before their namespace
    emulator.clear_requests()
    everything = [d.ref for d in desired] + stale  # b is already gone: fine
    removed = prune.delete_all(cluster, everything, deadline=time.monotonic() + 10)
    assert {r.ref.name: r.action for r in removed}["b"] == "gone"
    deletes = [p for m, p in writes(emulator) if m == "DELETE"]
    assert deletes[-1] == "/api/v1/namespaces/demo"
    for d in desired:
        assert emulator.get(d.ref.api_version, d.ref.kind, d.ref.namespace, d.ref.name) is None
    # what runs pods in a Namespace that goes too is deleted first, its pods in the background
    policies = {p: json.loads(r.body)["propagationPolicy"]
                for r in emulator.requests if r.method == "DELETE" for p in [r.path]}
    assert deletes[0] == "/apis/apps/v1/namespaces/demo/deployments/web"
    assert policies == {"/apis/apps/v1/namespaces/demo/deployments/web": "Background",
                        "/api/v1/namespaces/demo": "Foreground"}


def test_ledger_holds_identities_and_hashes_only(cluster: kube.Cluster, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state")
    apply(cluster, ledger, rendered())
    (run,) = ledger.runs(instance="demo")
    assert run.path is not None
    text = run.path.read_text()
    assert "s3cr3t" not in text and "hunter2" not in text
    assert run.data["params"] == {}
    states = {(x["kind"], x["name"]): x["state"] for x in run.objects}
    assert states[("Secret", "s")] == "created"
    assert oct(run.path.stat().st_mode & 0o777) == "0o600"


def test_crd_and_its_custom_resources_in_one_batch(emulator: LabEmulator, cluster: kube.Cluster,
                                                   tmp_path: Path) -> None:
    comps = [("namespaces", [o.namespace("demo")]),
             ("widgets", [o.widget("w1", "demo"), o.crd(), o.widget("w2", "demo", size=2)])]
    report = Applier(cluster, INV).apply(plan(comps, INV))
    assert report.counts() == {"created": 4}
    order = [(r.method, r.path) for r in emulator.writes]
    assert order[0] == ("PATCH", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    assert order[1] == ("PATCH", "/api/v1/namespaces/demo")
    assert (emulator.get("example.com/v1", "Widget", "demo", "w2") or {})["spec"] == {"size": 2}
    emulator.clear_requests()
    again = Applier(cluster, INV).apply(plan(comps, INV))
    assert again.counts() == {"unchanged": 4} and emulator.writes == []


def test_custom_resources_go_first_while_their_operator_runs(emulator: LabEmulator,
                                                             cluster: kube.Cluster) -> None:
    """Custom resources are deleted and confirmed gone before anything else — before the
    Deployment that would be their operator, the Namespaces and their CRD."""
    comps = [("namespaces", [o.namespace("demo"), o.namespace("ops")]),
             ("operator", [o.crd(), o.deployment("operator", "ops")]),
             ("widgets", [o.widget("w1", "demo"), o.configmap("c", "demo")])]
    desired = plan(comps, INV)
    Applier(cluster, INV).apply(desired)
    emulator.clear_requests()
    removed = prune.delete_all(cluster, [d.ref for d in desired], deadline=time.monotonic() + 10)
    assert {r.action for r in removed} == {"deleted"} and len(removed) == len(desired)
    deletes = [p for m, p in writes(emulator) if m == "DELETE"]
    assert deletes[0] == "/apis/example.com/v1/namespaces/demo/widgets/w1"
    assert deletes[1] == "/apis/apps/v1/namespaces/ops/deployments/operator"
    assert deletes[-1] == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
    # the widget was watched until gone before the operator was told to go
    paths = [(r.method, r.path) for r in emulator.requests]
    watched = max(i for i, (m, path) in enumerate(paths) if m == "GET" and "/widgets" in path)
    assert watched < paths.index(("DELETE", deletes[1]))
    for d in desired:  # (the Widget kind went with its CRD)
        if d.ref.kind != "Widget":
            assert emulator.get(d.ref.api_version, d.ref.kind, d.ref.namespace, d.ref.name) is None


def test_crd_that_never_becomes_established_times_out_with_its_name(tmp_path: Path) -> None:
    with LabEmulator(crd_auto_establish=False).start(tmp_path / "emu") as emu, \
            kube.connect(emu.kubeconfig, "emulator") as cluster:
        comps = [("widgets", [o.crd(), o.widget("w1", "default")])]
        with pytest.raises(kerrors.WaitTimeout) as caught:
            Applier(cluster, INV, crd_timeout=0.3).apply(plan(comps, INV))
        message = str(caught.value)
        assert "CustomResourceDefinition widgets.example.com Established" in message
        assert "last status: not Established" in message
        assert emu.get("example.com/v1", "Widget", "default", "w1") is None


def test_unknown_kind_names_the_object(cluster: kube.Cluster) -> None:
    comps = [("app", [{"apiVersion": "nope.example.com/v1", "kind": "Gadget",
                       "metadata": {"name": "g", "namespace": "default"}}])]
    with pytest.raises(kerrors.UnknownKind, match="Gadget default/g"):
        Applier(cluster, INV).apply(plan(comps, INV))


def test_conflict_with_another_manager_is_reported_then_forced(emulator: LabEmulator,
                                                               cluster: kube.Cluster) -> None:
    emulator.apply(o.configmap("a", "default", key="theirs"), manager="someone-else", force=True)
    comps = [("app", [o.configmap("a", "default", key="ours")])]
    with pytest.raises(kerrors.Conflict) as caught:
        Applier(cluster, INV).apply(plan(comps, INV))
    assert "ConfigMap default/a" in str(caught.value)
    assert caught.value.status == 409
    report = Applier(cluster, INV, force_conflicts=True).apply(plan(comps, INV))
    assert report.counts() == {"configured": 1}
    assert (emulator.get("v1", "ConfigMap", "default", "a") or {})["data"] == {"key": "ours"}


def test_objects_without_namespace_go_to_default(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    obj = o.configmap("a", "x")
    del obj["metadata"]["namespace"]
    Applier(cluster, INV).apply(plan([("app", [obj])], INV))
    assert emulator.get("v1", "ConfigMap", "default", "a") is not None


def test_an_applier_reused_across_waves_keeps_nothing_of_a_call(cluster: kube.Cluster) -> None:
    """deploy reuses one Applier for every wave and hook phase: a call's stop flag, first error
    and live cache must not outlive it (a failed wave would otherwise leak into the next)."""
    applier = Applier(cluster, INV)
    fresh = set(vars(applier))
    bad = o.configmap("bad", "nowhere-namespace")
    with pytest.raises(kerrors.ClusterError):
        applier.apply(plan([("app", [bad])], INV))
    assert set(vars(applier)) == fresh
    report = applier.apply(plan([("namespaces", [o.namespace("demo")]),
                                 ("app", [o.configmap("a", "demo")])], INV))
    assert report.counts() == {"created": 2}
    assert set(vars(applier)) == fresh
