"""Chart pieces that need no helm: output parsing, hook phases, values schema, references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from illm_lab.base.errors import InputError, TemplateError
from illm_lab.charts import hooks, stream
from illm_lab.charts import values as chart_values
from illm_lab.charts.reference import ChartRef
from illm_lab.model.experiment import HelmChart
from tests.support.fakebin import FIXTURE_CHARTS, package_chart

OUTPUT = """\
---
# Source: demo/crds/crd.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.com

---
# Source: demo/templates/list.yaml
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
---
# Source: demo/templates/empty.yaml
---
# Source: demo/templates/svc.yaml
apiVersion: v1
kind: Service
metadata:
  name: svc
"""


def test_stream_parses_documents_in_order_and_expands_lists() -> None:
    objs = stream.parse(OUTPUT, chart="demo 1.0.0")
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("CustomResourceDefinition", "things.example.com"), ("ConfigMap", "a"), ("ConfigMap", "b"),
        ("Service", "svc"),
    ]


def test_stream_split_keeps_the_source_of_each_document() -> None:
    sources = [src for src, _text in stream.split(OUTPUT)]
    assert sources == ["demo/crds/crd.yaml", "demo/templates/list.yaml", "demo/templates/svc.yaml"]


@pytest.mark.parametrize(("doc", "message"), [
    ("apiVersion: v1\nkind: [unclosed\n", "invalid YAML"),
    ("- just\n- a list\n", "not a Kubernetes object"),
    ("apiVersion: v1\nmetadata: {name: x}\n", "without kind"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "ConfigMap without metadata.name"),
])
def test_malformed_output_names_chart_and_template(doc: str, message: str) -> None:
    output = f"---\n# Source: demo/templates/bad.yaml\n{doc}"
    with pytest.raises(InputError) as info:
        stream.parse(output, chart="demo 1.0.0")
    assert message in info.value.message
    assert str(info.value).startswith("chart demo 1.0.0: demo/templates/bad.yaml")


def test_malformed_output_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        stream.parse("---\n# Source: x/t.yaml\nfoo: bar\n", chart="x 1")


def _obj(name: str, hook: str | None = None, weight: Any = None, policy: str | None = None) -> dict[str, Any]:
    ann: dict[str, Any] = {}
    if hook is not None:
        ann[hooks.HOOK] = hook
    if weight is not None:
        ann[hooks.WEIGHT] = weight
    if policy is not None:
        ann[hooks.DELETE_POLICY] = policy
    meta: dict[str, Any] = {"name": name}
    if ann:
        meta["annotations"] = ann
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def test_hooks_become_ordered_phases() -> None:
    objects = [
        _obj("main"),
        _obj("pre-late", "pre-install", "5"),
        _obj("pre-early", "pre-upgrade,pre-install", "-3", "hook-succeeded, hook-failed"),
        _obj("pre-same", "pre-install", "5"),
        _obj("post", "post-install"),
        _obj("both", "pre-install,post-upgrade", "1"),
        _obj("test", "test"),
        _obj("test-old", "test-success"),
        _obj("delete", "pre-delete"),
        _obj("odd-weight", "post-install", "heavy"),
    ]
    main, before, after = hooks.split(objects)
    assert [o["metadata"]["name"] for o in main] == ["main"]
    assert [(p.weight, [h.object["metadata"]["name"] for h in p.hooks]) for p in before] == [
        (-3, ["pre-early"]), (1, ["both"]), (5, ["pre-late", "pre-same"]),
    ]
    assert [(p.weight, [h.object["metadata"]["name"] for h in p.hooks]) for p in after] == [
        (0, ["post", "odd-weight"]), (1, ["both"]),
    ]
    early = before[0].hooks[0]
    assert early.events == ["pre-upgrade", "pre-install"]
    assert early.delete_policies == ["hook-succeeded", "hook-failed"]
    assert after[0].hooks[0].delete_policies == ["before-hook-creation"]


def test_values_coalesce_like_helm() -> None:
    defaults = {"a": 1, "nested": {"x": 1, "y": 2}, "gone": True, "list": [1, 2]}
    merged = chart_values.coalesce(defaults, {"nested": {"y": 3}, "gone": None, "list": [9]})
    assert merged == {"a": 1, "nested": {"x": 1, "y": 3}, "list": [9]}
    assert defaults["nested"] == {"x": 1, "y": 2}


@pytest.mark.parametrize("packaged", [False, True])
def test_values_schema_from_folder_or_archive(tmp_path: Path, packaged: bool) -> None:
    chart = package_chart(FIXTURE_CHARTS / "labdemo", tmp_path) if packaged else FIXTURE_CHARTS / "labdemo"
    assert chart_values.check(chart, {"replicas": 3}, label="labdemo") == []
    found = chart_values.check(chart, {"replicas": "three", "port": 0, "bogus": 1}, label="labdemo")
    assert found is not None
    assert [str(v) for v in found] == [
        "(root): Additional properties are not allowed ('bogus' was unexpected)",
        "port: 0 is less than the minimum of 1",
        "replicas: 'three' is not of type 'integer'",
    ]


def test_values_without_schema_is_none() -> None:
    assert chart_values.check(FIXTURE_CHARTS / "kindless", {"x": 1}, label="kindless") is None


def test_chart_ref_keys_are_stable_and_distinct() -> None:
    repo = ChartRef.of(HelmChart(repo="https://charts.example.com/", chart="labdemo", version="0.1.0"))
    same = ChartRef.of(HelmChart(repo="https://charts.example.com", chart="labdemo", version="0.1.0"))
    other = ChartRef.of(HelmChart(repo="https://charts.example.com", chart="labdemo", version="0.1.1"))
    oci = ChartRef.of(HelmChart(oci="oci://registry.example.com/charts/labdemo", version="0.1.0"))
    assert repo is not None and oci is not None and other is not None
    assert repo == same and repo.key == same.key
    assert len({repo.key, other.key, oci.key}) == 3
    assert oci.chart == "labdemo" and oci.pull_target() == ("oci://registry.example.com/charts/labdemo", None)
    assert repo.pull_target() == ("labdemo", "https://charts.example.com")
    assert ChartRef.of(HelmChart(path="charts/x")) is None
