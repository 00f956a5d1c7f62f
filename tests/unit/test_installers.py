"""Which components may install kinds at run time (rendering/installers.py): the rule the engine
waits by, lint explains its notes by and the emulator plays operators by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from illm_lab.rendering.installers import crd_grant, installers


@dataclass
class Comp:
    name: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    cluster: str = "target"


def role(name: str, groups: list[str], resources: list[str], verbs: list[str],
         kind: str = "ClusterRole") -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "rules": [{"apiGroups": groups, "resources": resources, "verbs": verbs}]}


def binding(name: str, cluster_role: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name}, "roleRef": {"kind": "ClusterRole", "name": cluster_role}}


CROSSPLANE = role("crossplane", ["apiextensions.k8s.io"],
                  ["customresourcedefinitions", "customresourcedefinitions/status"], ["*"])


def test_a_role_granting_create_on_crds_may_install_kinds() -> None:
    assert crd_grant([CROSSPLANE]) == "ClusterRole crossplane grants create on customresourcedefinitions"
    assert crd_grant([role("all", ["*"], ["*"], ["create"])]) is not None


def test_reading_crds_or_writing_other_resources_installs_nothing() -> None:
    assert crd_grant([role("viewer", ["apiextensions.k8s.io"], ["customresourcedefinitions"],
                           ["get", "list", "watch"])]) is None
    assert crd_grant([role("apps", ["apps"], ["*"], ["*"])]) is None
    assert crd_grant([role("crds", [""], ["customresourcedefinitions"], ["create"])]) is None


def test_a_binding_to_a_cluster_role_not_rendered_may_grant_it() -> None:
    assert crd_grant([binding("admin", "cluster-admin")]) == (
        "ClusterRoleBinding admin binds ClusterRole cluster-admin, which may grant it")
    assert crd_grant([role("own", ["apps"], ["*"], ["*"]), binding("own", "own")]) is None


def test_installers_are_found_through_dependencies_on_the_same_cluster() -> None:
    comps = [
        Comp("crossplane", [CROSSPLANE]),
        Comp("platform", depends_on=["crossplane"]),
        Comp("claim", depends_on=["platform"]),
        Comp("elsewhere", depends_on=["crossplane"], cluster="loadgen"),
        Comp("alone"),
    ]
    found = installers(comps)
    assert sorted(found) == ["claim", "platform"]
    assert [str(i) for i in found["claim"]] == [
        "component crossplane (ClusterRole crossplane grants create on customresourcedefinitions)"]


def test_a_chart_lint_did_not_render_may_install_anything() -> None:
    found = installers([Comp("operator"), Comp("resources", depends_on=["operator"])],
                       unrendered={"operator"})
    assert [str(i) for i in found["resources"]] == ["component operator (its chart was not rendered)"]
    assert installers([Comp("operator"), Comp("resources", depends_on=["operator"])]) == {}
