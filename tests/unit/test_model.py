"""The manifest models: defaults, durations, phases, check discrimination, chart references."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from illm_lab.model.base import parse_duration
from illm_lab.model.checks import check_type, effective_timeout
from illm_lab.model.experiment import Experiment


def manifest(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": "x", "title": "X", "phase": "3.1", "type": "demo"},
        "spec": spec,
    }


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("2m", 120), ("1h30m", 5400), (5, 5), ("1.5s", 1.5)])
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", -1, 0, True, "25h"])
def test_bad_durations(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_phase_numbers_are_read_as_text_and_matched_by_prefix() -> None:
    exp = Experiment.model_validate({**manifest(), "metadata": {"name": "x", "title": "X", "phase": 3.1, "type": "demo"}})
    assert exp.metadata.phase == "3.1"
    assert exp.matches_phase("3") and exp.matches_phase("3.1") and not exp.matches_phase("3.2")
    letter = Experiment.model_validate({**manifest(), "metadata": {"name": "x", "title": "X", "phase": "G", "type": "demo"}})
    assert letter.matches_phase("G") and not letter.matches_phase("3")


def test_default_cluster_is_target() -> None:
    assert list(Experiment.model_validate(manifest()).spec.clusters) == ["target"]


def test_checks_are_discriminated_by_their_type_key() -> None:
    exp = Experiment.model_validate(manifest(checks=[
        {"name": "a", "ready": {"kind": "Deployment", "name": "d"}},
        {"name": "b", "assert": {"resource": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}}},
        {"name": "c", "promql": {"service": "o/p:9090", "query": "up"}, "timeout": "10s"},
        {"name": "d", "command": {"run": ["true"]}},
    ]))
    assert [check_type(c) for c in exp.spec.checks] == ["ready", "assert", "promql", "command"]
    assert [effective_timeout(c) for c in exp.spec.checks] == [300.0, 30.0, 10.0, 30.0]


def test_access_checks_ask_what_kubectl_auth_can_i_asks() -> None:
    def access(**spec: Any) -> Any:
        exp = Experiment.model_validate(manifest(checks=[{"name": "a", "access": spec}]))
        return exp.spec.checks[0].access  # type: ignore[union-attr]

    sa = access(serviceAccount="team/ci", verb="patch", resource="deployments.apps/scale",
                namespace="team", name="web")
    assert sa.subject == ("system:serviceaccount:team:ci",
                          ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"])
    assert sa.attributes == {"verb": "patch", "resource": "deployments", "group": "apps",
                             "subresource": "scale", "namespace": "team", "name": "web"}
    assert sa.allowed is True
    core = access(user="jane", groups=["dev"], verb="list", resource="pods", allowed=False)
    assert core.subject == ("jane", ["dev"])
    assert core.attributes == {"verb": "list", "resource": "pods", "group": ""}  # cluster-wide
    assert access(user="x", verb="*", resource="*").attributes["resource"] == "*"
    for bad, message in [
        ({"verb": "get", "resource": "pods"}, "exactly one of serviceAccount or user"),
        ({"user": "a", "serviceAccount": "n/b", "verb": "get", "resource": "pods"}, "exactly one"),
        ({"serviceAccount": "ci", "verb": "get", "resource": "pods"}, "expected namespace/name"),
        ({"user": "a", "verb": "get", "resource": "Pods"}, "resource"),
        ({"user": "a", "verb": "get it", "resource": "pods"}, "verb"),
    ]:
        with pytest.raises(ValidationError, match=message):
            access(**bad)


def test_dependency_cycles_are_refused() -> None:
    comps = [
        {"name": "a", "manifests": ["a.yaml"], "dependsOn": ["b"]},
        {"name": "b", "manifests": ["b.yaml"], "dependsOn": ["a"]},
    ]
    with pytest.raises(ValidationError, match="dependsOn cycle: a -> b -> a"):
        Experiment.model_validate(manifest(components=comps))


@pytest.mark.parametrize("version", ["1.2.3", "v1.19.1", "79.9.0", "1.0.0-rc.1"])
def test_exact_chart_versions_accepted(version: str) -> None:
    comp = {"name": "c", "namespace": "n", "helm": {"repo": "https://x.io", "chart": "c", "version": version}}
    Experiment.model_validate(manifest(components=[comp]))


@pytest.mark.parametrize("version", ["^1.2.3", "~1.2", ">=1.0.0", "1.x", "latest", "*"])
def test_chart_version_ranges_refused(version: str) -> None:
    comp = {"name": "c", "namespace": "n", "helm": {"repo": "https://x.io", "chart": "c", "version": version}}
    with pytest.raises(ValidationError, match="must be exact"):
        Experiment.model_validate(manifest(components=[comp]))


def test_local_chart_needs_no_version() -> None:
    comp = {"name": "c", "namespace": "n", "helm": {"path": "charts/demo"}}
    Experiment.model_validate(manifest(components=[comp]))


def test_secret_param_and_enum() -> None:
    exp = Experiment.model_validate(manifest(params={"pw": {"secret": True, "default": "x"}, "mode": {"enum": ["a", "b"], "default": "a"}}))
    assert exp.spec.params["pw"].secret
    with pytest.raises(ValidationError, match="default is not one of enum"):
        Experiment.model_validate(manifest(params={"mode": {"enum": ["a"], "default": "b"}}))
