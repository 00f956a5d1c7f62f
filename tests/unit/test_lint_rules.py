"""Lint findings that stop a conduct must be certain: names by each kind's API rule, check
targets that controllers create at run time, and the rendering conduct actually deploys."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from illm_lab.authoring.lint import lint_folder
from illm_lab.base.kinds import name_problem
from illm_lab.cli.main import app
from tests.support.catalogs import MINIMAL, write_experiment
from tests.support.emulator import LabEmulator


@pytest.mark.parametrize(("kind", "api", "name", "expected"), [
    ("ClusterRole", "rbac.authorization.k8s.io/v1", "kyverno:admission-controller", None),
    ("RoleBinding", "rbac.authorization.k8s.io/v1", "system:Leader_Election", None),
    ("ClusterRole", "rbac.authorization.k8s.io/v1", "a/b", True),
    ("ConfigMap", "v1", "a:b", True),
    ("Service", "v1", "9lives", True),
    ("Service", "v1", "a.b", True),
    ("Deployment", "apps/v1", "a.b", None),
    ("Namespace", "v1", "x" * 64, True),
    ("Namespace", "v1", "x" * 63, None),
    ("Widget", "example.com/v1", "Upper", False),  # a custom resource: a warning, not certain
    ("Widget", "example.com/v1", "..", True),
])
def test_names_follow_the_rule_of_their_kind(
    kind: str, api: str, name: str, expected: bool | None
) -> None:
    problem = name_problem(kind, api, name)
    assert (problem[0] if problem else None) is expected


RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "demo:reader"}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce],
                          resources: {requests: {storage: 1Gi}}}}]
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "lab.local/labapp:1"}]}
"""


def _experiment(tmp_path: Path, checks: str, extra: str = RBAC) -> Path:
    manifest = MINIMAL.format(name="demo").split("  checks:")[0] + "  checks:\n" + checks
    manifest = manifest.replace("manifests: [manifests/app.yaml.j2]",
                                "manifests: [manifests/app.yaml.j2, manifests/extra.yaml]")
    return write_experiment(tmp_path, "demo", manifest, files={"manifests/extra.yaml": extra})


def _findings(folder: Path, severity: str) -> list[str]:
    return [f.message for f in lint_folder(folder).findings if f.severity == severity]


def test_rbac_names_with_colons_are_valid(tmp_path: Path) -> None:
    folder = _experiment(tmp_path, "    - {name: db, ready: {kind: StatefulSet, name: db, namespace: demo}}\n")
    assert _findings(folder, "error") == []


def test_targets_made_by_controllers_are_notes_naming_their_owner(tmp_path: Path) -> None:
    folder = _experiment(tmp_path, (
        "    - {name: pods, ready: {kind: Pod, selector: {app: db}, namespace: demo}}\n"
        "    - {name: claim, assert: {resource: {apiVersion: v1, kind: PersistentVolumeClaim,"
        " metadata: {name: data-db-0, namespace: demo}}}}\n"
        "    - {name: endpoints, assert: {resource: {apiVersion: v1, kind: Endpoints,"
        " metadata: {name: app, namespace: demo}}}}\n"
    ))
    assert _findings(folder, "error") == []
    notes = _findings(folder, "note")
    assert any("target Pod demo/app=db not verified: created at run time from StatefulSet demo/db"
               in n for n in notes), notes
    assert any("PersistentVolumeClaim demo/data-db-0" in n and "StatefulSet demo/db" in n for n in notes)
    assert any("Endpoints demo/app" in n and "Service demo/app" in n for n in notes)


def test_a_target_rbac_lets_a_workload_create_is_a_note(tmp_path: Path) -> None:
    operator = RBAC.replace("verbs: [get]", "verbs: [get]}, {apiGroups: [\"\"], resources: [secrets], verbs: [create]")
    folder = _experiment(tmp_path, (
        "    - {name: cert, assert: {resource: {apiVersion: v1, kind: Secret,"
        " metadata: {name: tls, namespace: demo}}}}\n"
    ), extra=operator)
    assert _findings(folder, "error") == []
    assert any("ClusterRole demo:reader grants create on ['secrets']" in n
               for n in _findings(folder, "note"))


def test_a_target_nothing_can_create_is_still_an_error(tmp_path: Path) -> None:
    folder = _experiment(tmp_path, (
        "    - {name: cfg, assert: {resource: {apiVersion: v1, kind: ConfigMap,"
        " metadata: {name: nowhere, namespace: demo}}}}\n"
        "    - {name: pods, ready: {kind: Pod, selector: {app: nobody}, namespace: demo}}\n"
    ))
    errors = _findings(folder, "error")
    assert len(errors) == 2, errors
    assert "target ConfigMap demo/nowhere is not among the rendered objects" in errors[0]
    assert "target Pod demo/app=nobody" in errors[1]


def test_conduct_lints_the_rendering_it_deploys(tmp_path: Path, emulator: LabEmulator,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(emulator.kubeconfig))  # the dry run reaches a cluster
    root = tmp_path / "experiments"
    manifest = MINIMAL.format(name="demo").replace(
        'token: {type: string, default: "s3cr3t-value", secret: true}',
        'token: {type: string, default: "s3cr3t-value", secret: true}\n    suffix: {type: string, default: ok}',
    )
    folder = write_experiment(root, "demo", manifest)
    app_yaml = (folder / "manifests/app.yaml.j2").read_text()
    (folder / "manifests/app.yaml.j2").write_text(app_yaml.replace("name: app-token", "name: app-{{ params.suffix }}"))
    runner = CliRunner()
    ok = runner.invoke(app, ["--experiments-dir", str(root), "conduct", "demo", "--dry-run", "--ci"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["--experiments-dir", str(root), "conduct", "demo", "--dry-run", "--ci",
                              "--set", "suffix=Not_A_Name"])
    assert bad.exit_code == 2, bad.output
    assert "Secret demo/app-Not_A_Name: name 'app-Not_A_Name' is not a DNS subdomain" in bad.output


READY = "    - {name: app ready, ready: {kind: Deployment, name: app, namespace: demo}}\n"


def test_an_object_namespace_over_63_characters_is_an_error(tmp_path: Path) -> None:
    long = "n" * 70
    folder = _experiment(tmp_path, READY, extra=f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: {long}}}\n")
    errors = _findings(folder, "error")
    assert errors == [f"ConfigMap {long}/c: metadata.namespace {long!r} is not a DNS label "
                      "(lowercase letters, digits, '-'; ≤ 63, this one has 70)"], errors


@pytest.mark.parametrize(("value", "expected"), [
    ("2147483648", "spec.replicas: 2147483648 is out of range for an int32 (-2147483648 to 2147483647)"),
    ("-2147483649", "spec.replicas: -2147483649 is out of range for an int32"),
    ("2147483647", None),
])
def test_int32_fields_are_range_checked(tmp_path: Path, value: str, expected: str | None) -> None:
    deployment = RBAC.split("---\n")[1].replace("serviceName: db", f"serviceName: db\n  replicas: {value}")
    folder = _experiment(tmp_path, READY, extra=deployment)
    errors = _findings(folder, "error")
    if expected is None:
        assert errors == []
    else:
        assert len(errors) == 1 and expected in errors[0], errors


def test_int_ranges_in_custom_resources_follow_their_crd(tmp_path: Path) -> None:
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.example.com}\n"
        "spec:\n  group: example.com\n  scope: Namespaced\n"
        "  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n"
        "  versions:\n    - name: v1\n      served: true\n      storage: true\n"
        "      schema: {openAPIV3Schema: {type: object, properties: {size: {type: integer, format: int32}}}}\n"
        "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nsize: 4294967296\n"
    )
    errors = _findings(_experiment(tmp_path, READY, extra=crd), "error")
    assert len(errors) == 1 and "Widget demo/w: size: 4294967296 is out of range for an int32" in errors[0]


def test_workflow_wait_for_must_name_a_rendered_job(tmp_path: Path) -> None:
    job = ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: load}\nspec:\n  template:\n    spec:\n"
           "      restartPolicy: Never\n      containers: [{name: k6, image: \"lab.local/labapp:1\"}]\n")
    for wait_for, errors in (("load", 0), ("lod", 1)):
        manifest = MINIMAL.format(name="demo") + (
            f"  workflow: {{namespace: demo, cluster: target, manifests: [manifests/load.yaml], waitFor: {wait_for}}}\n")
        folder = write_experiment(tmp_path / wait_for, "demo", manifest, files={"manifests/load.yaml": job})
        found = _findings(folder, "error")
        assert len(found) == errors, found
    assert found == ["workflow.waitFor 'lod': no Job of that name among the workflow's rendered objects, "
                     "so conduct would have nothing to wait for"]
    where = [f.where for f in lint_folder(folder).findings if f.severity == "error"]
    assert where == [f"{folder / 'experiment.yaml'}:25"]


def test_lint_names_the_programs_command_checks_would_run(tmp_path: Path) -> None:
    folder = _experiment(tmp_path, READY + "    - {name: curl it, command: {run: [curl, -fsS, 'http://x']}}\n")
    notes = _findings(folder, "note")
    assert ("check 'curl it' runs the local program 'curl' on your machine (curl -fsS http://x); "
            "it runs only from the catalog you work in, after lab trust, or with --allow-commands") in notes, notes
    assert _findings(folder, "error") == []


def test_a_rendered_kind_never_reaches_a_file_path(tmp_path: Path) -> None:
    """A template emitting `kind: ../../x` must not make lint open files outside its schemas."""
    evil = ("apiVersion: v1\nkind: ../../../../../../etc/passwd\nmetadata: {name: x}\n---\n"
            "apiVersion: ../../v1\nkind: ConfigMap\nmetadata: {name: y}\n")
    folder = _experiment(tmp_path, "    - {name: db, ready: {kind: StatefulSet, name: db, namespace: demo}}\n",
                         extra=RBAC + "---\n" + evil)
    errors = _findings(folder, "error")
    assert any("kind '../../../../../../etc/passwd' is not a valid kind name" in e for e in errors), errors
    assert any("apiVersion '../../v1' is not <group>/<version>" in e for e in errors), errors
    assert not any("root:" in e for e in errors)
