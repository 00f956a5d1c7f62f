"""Tier 2: kinds an operator serves only at run time (engine/arrivals.py, adrs/0021).

The emulator plays the operator (`install_crds`): its CRDs appear a moment after its Deployment is
ready, as Crossplane's do. A component depending on it waits for them; a component depending on
nothing that could install them fails at once; a kind that never appears fails at the component's
timeout with one message naming the kinds, the component and what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from illm_lab import kube
from illm_lab.catalog import load
from illm_lab.config.selection import Target
from illm_lab.deploy.deployment import apply_experiment
from illm_lab.engine.apply import Applier, plan
from illm_lab.engine.arrivals import Expectation
from illm_lab.engine.events import EngineEvent, Note
from illm_lab.engine.inventory import Inventory
from illm_lab.kube import errors as kerrors
from illm_lab.ledger import Ledger
from tests.engine import objects as o
from tests.support.catalogs import write_experiment
from tests.support.emulator import LabEmulator
from tests.support.emulator_kinds import custom_resource_definition

pytestmark = pytest.mark.emulator
INV = Inventory("demo", "demo")
WIDGETS = custom_resource_definition("example.com", "Widget", ["v1"], namespaced=True)
OPERATOR = "component operator (ClusterRole operator grants create on customresourcedefinitions)"

MANIFEST = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata: {name: late, title: kinds served at run time, phase: "1", type: demo}
spec:
  namespaces:
    demo: {podSecurity: baseline}
  components:
    - name: operator
      namespace: demo
      manifests: [manifests/operator.yaml.j2]
    - name: widgets
      namespace: demo
      manifests: [manifests/widgets.yaml.j2]
      dependsOn: [operator]
      timeout: 20s
"""


def operator_files(crd_rights: bool = True) -> dict[str, str | bytes]:
    verbs = ["create", "get"] if crd_rights else ["get", "list", "watch"]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "operator"},
            "rules": [{"apiGroups": ["apiextensions.k8s.io"],
                       "resources": ["customresourcedefinitions"], "verbs": verbs}]}
    return {
        "manifests/operator.yaml.j2": yaml.safe_dump_all([o.deployment("operator", "demo"), role]),
        "manifests/widgets.yaml.j2": yaml.safe_dump(o.widget("w1", "demo", size=3)),
    }


@pytest.fixture
def cluster(emulator: LabEmulator) -> Iterator[kube.Cluster]:
    with kube.connect(emulator.kubeconfig, "emulator") as c:
        yield c


def deploy(emulator: LabEmulator, tmp_path: Path, files: dict[str, str | bytes],
           seen: list[EngineEvent]) -> Any:
    folder = write_experiment(tmp_path / "experiments", "late", MANIFEST, files)
    target = Target("target", emulator.kubeconfig, "emulator", "test")
    return apply_experiment(load(folder), {}, targets={"target": target}, on_event=seen.append,
                            ledger=Ledger(tmp_path / "state"))


def notes(seen: list[EngineEvent]) -> list[str]:
    return [e.message for e in seen if isinstance(e, Note)]


def test_a_component_waits_for_kinds_its_dependency_installs_at_run_time(
        emulator: LabEmulator, tmp_path: Path) -> None:
    emulator.auto_ready(None, after=0.01)
    emulator.install_crds([WIDGETS], label_selector="lab.illm.io/component=operator", after=0.3)
    seen: list[EngineEvent] = []
    result = deploy(emulator, tmp_path, operator_files(), seen)
    assert (emulator.get("example.com/v1", "Widget", "demo", "w1") or {})["spec"] == {"size": 3}
    assert {(x["kind"], x["action"]) for x in result.objects} >= {("Widget", "created")}
    waited = [n for n in notes(seen) if n.startswith("component widgets: waiting")]
    assert waited == [f"component widgets: waiting up to 20s for Widget (example.com/v1) to be "
                      f"served ({OPERATOR} may install them at run time)"]
    assert any(n.startswith("Widget (example.com/v1) served after") for n in notes(seen))


def test_without_a_dependency_that_may_install_it_an_unserved_kind_fails_at_once(
        emulator: LabEmulator, tmp_path: Path) -> None:
    emulator.auto_ready(None, after=0.01)
    started = time.monotonic()
    with pytest.raises(kerrors.UnknownKind, match=r"Widget demo/w1 \(widgets\): the server does not serve"):
        deploy(emulator, tmp_path, operator_files(crd_rights=False), [])
    assert time.monotonic() - started < 5  # not the component's 20 s
    assert emulator.get("apps/v1", "Deployment", "demo", "operator") is not None


def test_the_wait_follows_crds_with_a_watch(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    """Without the watch the backoff reads discovery at 0, 0.25, 0.75 and 1.75 s: a CRD that
    appears at 1 s is found at once only because its ADDED event ends the wait."""
    emulator.create(o.deployment("operator", "default"))
    emulator.install_crds([WIDGETS], after=1.0)
    emulator.auto_ready("Deployment", after=0)
    started = time.monotonic()
    report = Applier(cluster, INV, expected={"widgets": Expectation(10, (OPERATOR,))}).apply(
        plan([("widgets", [o.widget("w1", "default")])], INV))
    waited = time.monotonic() - started
    assert report.counts() == {"created": 1}
    assert 0.9 <= waited < 1.6, waited


def test_without_a_watch_discovery_is_read_again(emulator: LabEmulator, cluster: kube.Cluster) -> None:
    emulator["get /apis/apiextensions.k8s.io/v1/customresourcedefinitions"] << 403
    gadget = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    with pytest.raises(kerrors.UnknownKind, match=r"; CRDs could not be watched \(.*HTTP 403"):
        Applier(cluster, INV, expected={"gadgets": Expectation(0.3, (OPERATOR,))}).apply(
            plan([("gadgets", [gadget])], INV))
    emulator.create(o.deployment("operator", "default"))
    emulator.install_crds([WIDGETS], after=0.4)
    emulator.auto_ready("Deployment", after=0)
    report = Applier(cluster, INV, expected={"widgets": Expectation(10, (OPERATOR,))}).apply(
        plan([("widgets", [o.widget("w1", "default")])], INV))
    assert report.counts() == {"created": 1}


def test_kinds_that_never_appear_fail_naming_kinds_component_and_installer(
        emulator: LabEmulator, cluster: kube.Cluster) -> None:
    gadget = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    started = time.monotonic()
    with pytest.raises(kerrors.UnknownKind) as caught:
        Applier(cluster, INV, expected={"widgets": Expectation(0.6, (OPERATOR,))}).apply(
            plan([("widgets", [o.widget("w1", "default"), gadget])], INV))
    assert 0.6 <= time.monotonic() - started < 3
    assert str(caught.value) == (
        "component widgets: the server still does not serve Gadget (example.com/v1), Widget "
        f"(example.com/v1) after 1s (the component's timeout); it waited for {OPERATOR}, a "
        "component it depends on, to install them at run time. Is that operator running, and "
        "does it serve these kinds at these versions?")
    assert not emulator.serves("example.com/v1", "Widget")  # so nothing of it was applied
