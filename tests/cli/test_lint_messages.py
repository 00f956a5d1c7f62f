"""`lab lint` says where and what, once: a template line for a schema violation, the param or
check key that was mistyped, and no findings that only follow from an earlier one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import Lab
from tests.support.catalogs import APP, write_experiment


def run(lab: Lab, *args: str) -> Any:
    result: Any = lab(*args)
    return result


def _edit(catalog: Path, rel: str, old: str, new: str) -> Path:
    path = catalog / "demo" / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _errors(res: Any) -> list[str]:
    return [line for line in res.stderr.splitlines() if ": error: " in line]


def test_a_schema_violation_names_the_template_line_of_the_key(lab: Lab, catalog: Path) -> None:
    template = _edit(catalog, "manifests/app.yaml.j2", "  replicas: {{ params.replicas }}",
                     "  replcas: {{ params.replicas }}")
    line = APP.splitlines().index("  replicas: {{ params.replicas }}") + 1
    res = run(lab, "lint", "demo")
    assert res.exit_code == 1
    assert _errors(res) == [
        f"{template}:{line}: error: Deployment demo/app: spec: Additional properties are not "
        "allowed ('replcas' was unexpected)"
    ]


def test_a_plain_manifest_violation_names_its_own_line(lab: Lab, catalog: Path) -> None:
    template = _edit(catalog, "manifests/app.yaml.j2", "    - {port: 8080, protocol: TCP}",
                     "    - {port: eighty, protocol: TCP}")
    line = APP.splitlines().index("    - {port: 8080, protocol: TCP}") + 1
    res = run(lab, "lint", "demo")
    assert [e.split(": error: ")[0] for e in _errors(res)] == [f"{template}:{line}"]


def test_an_unknown_param_is_named_with_the_nearest_and_nothing_follows(lab: Lab, catalog: Path) -> None:
    template = _edit(catalog, "manifests/app.yaml.j2", "{{ params.replicas }}", "{{ params.replica }}")
    res = run(lab, "lint", "demo")
    assert res.exit_code == 1
    line = APP.splitlines().index("  replicas: {{ params.replicas }}") + 1
    assert _errors(res) == [f"{template}:{line}: error: unknown param replica — did you mean replicas?"]
    rendered = run(lab, "render", "demo")
    assert rendered.exit_code == 2
    assert "unknown param replica — did you mean replicas?" in rendered.stderr


def test_a_mistyped_check_key_is_named(lab: Lab, catalog: Path) -> None:
    manifest = _edit(catalog, "experiment.yaml", "      ready: {kind: Deployment", "      redy: {kind: Deployment")
    res = run(lab, "lint", "demo")
    assert res.exit_code == 1
    line = manifest.read_text().splitlines().index("      redy: {kind: Deployment, name: app, namespace: demo}") + 1
    assert _errors(res) == [f"{manifest}:{line}: error: spec.checks[0].redy: unknown key — did you mean ready?"]


def test_lint_takes_set_and_values(lab: Lab, tmp_path: Path) -> None:
    res = run(lab, "lint", "demo", "--set", "replicas=2147483648", "-o", "json")
    assert res.exit_code == 1
    messages = [f["message"] for f in json.loads(res.stdout)[0]["findings"]]
    assert any("spec.replicas: 2147483648 is out of range for an int32" in m for m in messages), messages
    values = tmp_path / "v.yaml"
    values.write_text("replicas: 3\n", encoding="utf-8")
    assert run(lab, "lint", "demo", "--values", str(values)).exit_code == 0
    bad = run(lab, "lint", "demo", "--set", "replica=3")
    assert bad.exit_code == 2
    assert "lab: error: --set replica: unknown param 'replica'" in bad.stderr


def test_a_sandbox_bound_in_a_bound_field_reads_as_itself(tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    manifest = Path(write_experiment(root)) / "experiment.yaml"
    text = manifest.read_text(encoding="utf-8").replace(
        "path: /readyz}", "path: \"/{{ range(10 ** 9) | length }}\"}")
    manifest.write_text(text, encoding="utf-8")
    res = Lab(root)("show", "demo")
    assert res.exit_code == 2
    assert "TemplateError" not in res.stderr and "template failed" not in res.stderr, res.stderr


def test_a_custom_resource_a_dependency_may_install_at_run_time_is_a_note(lab: Lab, catalog: Path) -> None:
    """No CRD in the rendering, but the component depends on one that may create CRDs (as
    Crossplane does at start-up): lint cannot validate it, says why, and does not stop anyone."""
    files = {
        "manifests/operator.yaml.j2": (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: operator}\n"
            "rules: [{apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], "
            "verbs: ['*']}]\n"),
        "manifests/widgets.yaml.j2": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
    }
    manifest = (catalog / "demo" / "experiment.yaml").read_text(encoding="utf-8").replace(
        "      manifests: [manifests/app.yaml.j2]\n",
        "      manifests: [manifests/app.yaml.j2]\n"
        "    - name: operator\n      manifests: [manifests/operator.yaml.j2]\n"
        "    - name: widgets\n      manifests: [manifests/widgets.yaml.j2]\n      dependsOn: [operator]\n")
    write_experiment(catalog, "demo", manifest, files)
    res = run(lab, "lint", "demo", "-o", "json")
    assert res.exit_code == 0, res.output
    notes = [f["message"] for f in json.loads(res.stdout)[0]["findings"] if "Widget" in f["message"]]
    assert notes == [
        "Widget w (example.com/v1) not validated — lab apply waits for its kind, which component "
        "operator (ClusterRole operator grants create on customresourcedefinitions) may install at "
        "run time: no schema for it in Kubernetes 1.31 and no CRD for it in this experiment"]
