"""The bad-input corpus: every case is one clear line naming the file (and line/field where
there is one), exit 2 under render/show and exit 1 under lint, and never a traceback."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Lab
from tests.support.catalogs import APP, MINIMAL, write_experiment

GOOD = MINIMAL.format(name="demo")


def replace(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


# (id, manifest text or None for the good one, extra files, regex the error must match)
CASES: list[tuple[str, str | None, dict[str, str | bytes], str]] = [
    ("malformed-yaml", "apiVersion: [\n", {}, r"experiment\.yaml:\d+: invalid YAML"),
    ("tab-indent", GOOD + "\tbad: 1\n", {}, r"experiment\.yaml:\d+: invalid YAML"),
    ("not-a-mapping", "- a\n- b\n", {}, r"experiment\.yaml:1: an experiment manifest must be a mapping"),
    ("empty-file", "", {}, r"experiment\.yaml: expected one YAML document, found 0"),
    ("two-documents", GOOD + "---\na: 1\n", {}, r"expected one YAML document, found 2"),
    ("duplicate-key", replace("  type: demo\n", "  type: demo\n  type: tutorial\n"), {}, r"experiment\.yaml:8: duplicate key 'type' \(first at line 7\)"),
    ("alias-bomb", "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", {}, r"more than 100 aliases"),
    ("deep-nesting", "a: " + "[" * 200 + "]" * 200 + "\n", {}, r"nested deeper than 64 levels"),
    ("huge-file", "a: " + "x" * (1024 * 1024 + 10) + "\n", {}, r"over the limit of 1048576 bytes"),
    ("binary-garbage", "\x00\x01\x02\x03garbage", {}, r"experiment\.yaml(:\d+)?: invalid YAML"),
    ("wrong-api-version", replace("lab.illm.io/v1alpha1", "lab.illm.io/v9"), {}, r"experiment\.yaml:1: apiVersion: "),
    ("wrong-kind", replace("kind: Experiment", "kind: Experimen"), {}, r"experiment\.yaml:2: kind: "),
    ("missing-metadata", "apiVersion: lab.illm.io/v1alpha1\nkind: Experiment\n", {}, r"metadata: required field is missing"),
    ("missing-title", replace("  title: A test experiment\n", ""), {}, r"experiment\.yaml:\d+: metadata\.title: required field is missing"),
    ("unknown-top-field", GOOD + "extra: 1\n", {}, r"experiment\.yaml:\d+: extra: unknown field"),
    ("unknown-metadata-field", replace("  tags: [testing]\n", "  tags: [testing]\n  owner: me\n"), {}, r"experiment\.yaml:9: metadata\.owner: unknown field"),
    ("bad-name", replace("  name: demo\n", "  name: Demo_X\n"), {}, r"experiment\.yaml:4: metadata\.name: "),
    ("name-not-folder", replace("  name: demo\n", "  name: other\n"), {}, r"experiment\.yaml:4: metadata\.name: 'other' must equal the folder name"),
    ("bad-phase", replace('  phase: "3.1"\n', "  phase: '12'\n"), {}, r"experiment\.yaml:6: metadata\.phase: "),
    ("bad-appendix", replace('  phase: "3.1"\n', "  phase: Z\n"), {}, r"experiment\.yaml:6: metadata\.phase: "),
    ("bad-type", replace("  type: demo\n", "  type: lecture\n"), {}, r"experiment\.yaml:7: metadata\.type: "),
    ("bad-tag", replace("tags: [testing]", "tags: [Not OK]"), {}, r"metadata\.tags: "),
    ("param-bad-type", replace("replicas: {type: integer, default: 1}", "replicas: {type: int, default: 1}"), {}, r"spec\.params\.replicas\.type: "),
    ("param-default-mismatch", replace("replicas: {type: integer, default: 1}", "replicas: {type: integer, default: one}"), {}, r"experiment\.yaml:11: spec\.params\.replicas: default 'one' is not of type integer"),
    ("param-unknown-field", replace("replicas: {type: integer, default: 1}", "replicas: {type: integer, default: 1, help: x}"), {}, r"spec\.params\.replicas\.help: unknown field"),
    ("param-bad-name", replace("    replicas:", "    re-plicas:"), {}, r"spec\.params: .*identifier"),
    ("bad-pod-security", replace("podSecurity: baseline", "podSecurity: strict"), {}, r"experiment\.yaml:15: spec\.namespaces\.demo\.podSecurity: "),
    ("component-no-source", replace("      manifests: [manifests/app.yaml.j2]\n", ""), {}, r"spec\.components\[0\]: give exactly one of helm or manifests"),
    ("component-both-sources", replace("      manifests: [manifests/app.yaml.j2]\n", "      manifests: [manifests/app.yaml.j2]\n      helm: {repo: 'https://x', chart: c, version: 1.0.0}\n"), {}, r"give exactly one of helm or manifests"),
    ("helm-version-range", replace("      manifests: [manifests/app.yaml.j2]\n", "      helm: {repo: 'https://charts.example', chart: c, version: '^1.2'}\n"), {}, r"spec\.components\[0\]\.helm: version '\^1\.2' must be exact"),
    ("helm-no-version", replace("      manifests: [manifests/app.yaml.j2]\n", "      helm: {repo: 'https://charts.example', chart: c}\n"), {}, r"helm: version is required"),
    ("helm-bad-oci", replace("      manifests: [manifests/app.yaml.j2]\n", "      helm: {oci: 'docker.io/x', version: 1.0.0}\n"), {}, r"oci must start with oci://"),
    ("depends-unknown", replace("      namespace: demo\n      manifests", "      namespace: demo\n      dependsOn: [db]\n      manifests"), {}, r"dependsOn 'db' is unknown"),
    ("undeclared-cluster", replace("    - name: app\n      namespace", "    - name: app\n      cluster: loadgen\n      namespace"), {}, r"cluster loadgen is not declared"),
    ("check-no-type", replace("      ready: {kind: Deployment, name: app, namespace: demo}\n", ""), {}, r"experiment\.yaml:21: spec\.checks\[0\]: a check needs exactly one of"),
    ("check-two-types", replace("      ready: {kind: Deployment, name: app, namespace: demo}\n", "      ready: {kind: Deployment, name: app}\n      absent: {resource: {}}\n"), {}, r"spec\.checks\[0\]: a check needs exactly one of"),
    ("check-bad-timeout", replace("      ready: {kind: Deployment, name: app, namespace: demo}\n", "      ready: {kind: Deployment, name: app, namespace: demo}\n      timeout: soon\n"), {}, r"experiment\.yaml:23: spec\.checks\[0\]\.timeout: .*expected a duration"),
    ("check-negative-timeout", replace("      ready: {kind: Deployment, name: app, namespace: demo}\n", "      ready: {kind: Deployment, name: app, namespace: demo}\n      timeout: -5\n"), {}, r"spec\.checks\[0\]\.timeout: "),
    ("check-unknown-field", replace("ready: {kind: Deployment, name: app, namespace: demo}", "ready: {kind: Deployment, nam: app, namespace: demo}"), {}, r"spec\.checks\[0\]\.ready\.nam: unknown field"),
    ("check-bad-service-ref", replace('service: "demo/app:8080"', 'service: "app"'), {}, r"spec\.checks\[1\]\.http: .*expected namespace/name:port"),
    ("http-bad-status", replace("path: /readyz}", "path: /readyz, expect: {status: 99}}"), {}, r"spec\.checks\[1\]\.http\.expect\.status: "),
    ("template-undefined", None, {"manifests/app.yaml.j2": APP.replace("params.replicas", "params.replica")}, r"app\.yaml\.j2:6: unknown param replica — did you mean replicas\?$"),
    ("template-syntax", None, {"manifests/app.yaml.j2": APP.replace("{{ params.replicas }}", "{{ params.replicas }")}, r"app\.yaml\.j2:6: template syntax error"),
    ("template-python-internals", None, {"manifests/app.yaml.j2": "x: {{ params.__class__.__mro__ }}\n"}, r"app\.yaml\.j2:1: .*(not allowed|undefined)"),
    ("template-include-outside", None, {"manifests/app.yaml.j2": "{% include '../../../etc/passwd' %}\n"}, r"app\.yaml\.j2:1: template not found"),
    ("template-missing-file", replace("manifests: [manifests/app.yaml.j2]", "manifests: [manifests/nope.yaml.j2]"), {}, r"nope\.yaml\.j2"),
    ("template-non-utf8", None, {"manifests/app.yaml.j2": b"kind: \xff\xfe\n"}, r"app\.yaml\.j2:1: not valid UTF-8"),
    ("template-renders-bad-yaml", None, {"manifests/app.yaml.j2": "a: [\n"}, r"app\.yaml\.j2 \(rendered\):\d+: invalid YAML"),
    ("template-renders-non-object", None, {"manifests/app.yaml.j2": "- a\n"}, r"app\.yaml\.j2 \(rendered\):1: each YAML document must be a Kubernetes object"),
    ("template-object-no-name", None, {"manifests/app.yaml.j2": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"}, r"ConfigMap has no metadata\.name"),
    ("template-zero-division", None, {"manifests/app.yaml.j2": "x: {{ 1 // 0 }}\n"}, r"app\.yaml\.j2:1: template failed: ZeroDivisionError"),
    ("non-utf8-manifest", None, {"experiment.yaml": b"apiVersion: lab.illm.io/v1alpha1\nkind: \xc3\x28\n"}, r"experiment\.yaml:2: not valid UTF-8"),
    ("huge-integer", replace("replicas: {type: integer, default: 1}", "replicas: {type: integer, default: " + "1" * 5000 + "}"), {}, r"experiment\.yaml:11: an integer of 5000 characters, over the limit of 128"),
    ("huge-hex-integer", replace("replicas: {type: integer, default: 1}", "replicas: {type: integer, default: 0x" + "f" * 5000 + "}"), {}, r"experiment\.yaml:11: an integer of 5002 characters"),
    ("explicit-int-tag-not-a-number", replace("replicas: {type: integer, default: 1}", "replicas: {type: integer, default: !!int abc}"), {}, r"experiment\.yaml:1: invalid YAML: invalid literal for int"),
    ("check-nan-timeout", replace("      ready: {kind: Deployment, name: app, namespace: demo}\n", "      ready: {kind: Deployment, name: app, namespace: demo}\n      timeout: .nan\n"), {}, r"experiment\.yaml:23: spec\.checks\[0\]\.timeout: .*finite"),
    ("check-inf-interval", replace("      ready: {kind: Deployment, name: app, namespace: demo}\n", "      ready: {kind: Deployment, name: app, namespace: demo}\n      interval: .inf\n"), {}, r"spec\.checks\[0\]\.interval: .*finite"),
    ("workflow-nan-timeout", GOOD.replace("  checks:\n", "  workflow: {namespace: demo, cluster: target, manifests: [manifests/app.yaml.j2], waitFor: j, timeout: .nan}\n  checks:\n"), {}, r"spec\.workflow\.timeout: .*finite"),
    ("param-named-items", replace("    replicas:", "    items: {type: string, default: x}\n    replicas:"), {}, r"spec\.params: .*'items' is taken: templates read params as `params\.<name>`"),
    ("param-named-get", replace("    replicas:", "    get: {type: string, default: x}\n    replicas:"), {}, r"spec\.params: .*'get' is taken"),
    ("namespace-too-long", replace("    demo: {podSecurity: baseline}", "    " + "n" * 70 + ": {}"), {}, r"spec\.namespaces: .*must be a DNS label \(at most 63"),
    ("component-namespace-too-long", replace("      namespace: demo\n      manifests", "      namespace: " + "n" * 70 + "\n      manifests"), {}, r"spec\.components\[0\]\.namespace: "),
]


def _setup(catalog: Path, manifest: str | None, files: dict[str, str | bytes]) -> None:
    write_experiment(catalog, "demo", manifest=manifest if manifest is not None else GOOD, files=files)


@pytest.mark.parametrize(("case", "manifest", "files", "expected"), CASES, ids=[c[0] for c in CASES])
def test_render_and_show_exit_2_with_one_located_line(
    lab: Lab, catalog: Path, case: str, manifest: str | None, files: dict[str, str | bytes], expected: str
) -> None:
    _setup(catalog, manifest, files)
    res: Any = lab("render", "demo")
    assert res.exit_code == 2, (case, res.output)
    assert "Traceback" not in res.output
    err_lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(err_lines) == 1, err_lines
    assert err_lines[0].startswith("lab: error: ")
    assert re.search(expected, err_lines[0]), err_lines[0]
    assert "demo" in err_lines[0]
    assert len(err_lines[0]) < 600, "error formatting must never echo a huge input"
    if "template" not in case:
        assert lab("show", "demo").exit_code == 2


@pytest.mark.parametrize(("case", "manifest", "files", "expected"), CASES, ids=[c[0] for c in CASES])
def test_lint_reports_a_finding_and_exits_1(
    lab: Lab, catalog: Path, case: str, manifest: str | None, files: dict[str, str | bytes], expected: str
) -> None:
    _setup(catalog, manifest, files)
    res: Any = lab("lint", "demo")
    assert res.exit_code == 1, (case, res.output)
    assert "Traceback" not in res.output
    findings = res.stderr.replace(": error: ", ": ")
    assert re.search(expected, findings), res.stderr


FLAG_CASES = [
    (["render", "demo", "--set", "nokey"], r"--set 'nokey': expected key=value"),
    (["render", "demo", "--set", "missing=1"], r"--set missing: unknown param 'missing'"),
    (["render", "demo", "--set", "replicas=many"], r"param 'replicas' must be of type integer"),
    (["render", "demo", "--set", "replicas.x=1"], r"param 'replicas' is a integer, not an object"),
    (["render", "demo", "--values", "/nonexistent/v.yaml"], r"/nonexistent/v\.yaml: values file not found"),
    (["render", "demo", "--values", "/dev/zero"], r"^lab: error: /dev/zero: values file is a character device, not a regular file$"),
    (["render", "demo", "--values", "/"], r"^lab: error: /: values file is a directory, expected a file$"),
    (["render", "demo", "--set", "a" + ".a" * 5000 + "=x"], r"^lab: error: --set a\.a\.a.*: nested deeper than 64 levels$"),
    (["render", "demo", "--set", "replicas..x=1"], r"empty key segment"),
    (["render", "demo", "--set", "replicas=0x" + "f" * 5000], r"param 'replicas' must be of type integer, got '0xfff"),
    (["diff", "demo", "--kubeconfig", "/dev/zero"], r"^lab: error: /dev/zero: kubeconfig is a character device, not a regular file$"),
    (["render", "demo", "--set", "token=123"], r"^lab: error: "),
    (["show", "demo", "-o", "xml"], r"xml"),
    (["list", "--nope"], r"No such option"),
]


@pytest.mark.parametrize(("args", "expected"), FLAG_CASES)
def test_bad_flags_exit_2(lab: Lab, args: list[str], expected: str) -> None:
    res: Any = lab(*args)
    if args[-1] == "token=123":  # a string param takes any text: this one is fine
        assert res.exit_code == 0
        assert "123" not in res.stdout.replace("replicas: 1", "")
        return
    assert res.exit_code == 2, res.output
    assert re.search(expected, res.stderr, re.M), res.stderr
    assert "Traceback" not in res.output


def test_values_file_unknown_param_names_file_and_line(lab: Lab, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 2\nreplicaz: 3\n")
    res: Any = lab("render", "demo", "--values", str(values))
    assert res.exit_code == 2
    assert re.search(r"values\.yaml:2: unknown param 'replicaz'", res.stderr)


def test_missing_experiments_dir(tmp_path: Path) -> None:
    res: Any = Lab(tmp_path / "nowhere")("list")
    assert res.exit_code == 2 and "experiments directory" in res.stderr


def test_verbose_shows_traceback_without_locals(lab: Lab, catalog: Path) -> None:
    _setup(catalog, replace("  type: demo\n", "  type: nope\n"), {})
    res: Any = lab("-v", "render", "demo")
    assert res.exit_code == 2
    assert "Traceback" in res.stderr
    assert "s3cr3t-value" not in res.output


def test_locations_print_verbatim_never_as_emoji(lab: Any, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("".join(f"# line {i}\n" for i in range(1, 100)) + "nosuch: 1\n")
    res = lab("render", "demo", "--values", str(values))
    assert res.exit_code == 2
    assert f"{values}:100: unknown param 'nosuch'" in res.output, res.output


def test_a_fifo_is_refused_at_once_never_read(lab: Lab, tmp_path: Path) -> None:
    import os
    import time

    fifo = tmp_path / "values.yaml"
    os.mkfifo(fifo)  # reading it would block forever: no writer ever comes
    started = time.monotonic()
    res: Any = lab("render", "demo", "--values", str(fifo))
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == f"lab: error: {fifo}: values file is a FIFO, not a regular file"
    assert time.monotonic() - started < 5


def test_a_lab_config_that_is_not_a_regular_file(lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    monkeypatch.setenv("LAB_CONFIG", str(fifo))
    res: Any = lab("diff", "demo")
    assert res.exit_code == 2, res.output
    assert f"{fifo}: lab config is a FIFO, not a regular file" in res.stderr
    monkeypatch.setenv("LAB_CONFIG", os.devnull)  # the usual "no config": still fine
    assert "is a character device" not in lab("diff", "demo").stderr


def test_an_oversized_values_file_is_refused_before_it_is_read(lab: Lab, tmp_path: Path) -> None:
    big = tmp_path / "values.yaml"
    with big.open("wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: 64 MiB that take no disk
    res: Any = lab("render", "demo", "--values", str(big))
    assert res.exit_code == 2
    assert re.search(r"values file is 67108864 bytes, over the limit of 1048576 bytes", res.stderr)
