"""Rendering: params precedence, the template sandbox, determinism, secret masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from illm_lab import catalog
from illm_lab.base.errors import InputError, TemplateError, UsageError
from illm_lab.catalog import params
from illm_lab.rendering import render
from tests.support.catalogs import APP, write_experiment


def _entry(tmp_path: Path, template: str | None = None) -> catalog.Entry:
    files = {"manifests/app.yaml.j2": template} if template is not None else {}
    write_experiment(tmp_path, "demo", files=files)
    return catalog.load(tmp_path / "demo")


def test_params_precedence_defaults_values_set(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    values = tmp_path / "v.yaml"
    values.write_text("replicas: 2\nimage: from-values\n")
    resolved = params.resolve(entry.experiment, [values], ["replicas=7"])
    assert resolved["replicas"] == 7 and resolved["image"] == "from-values"
    assert params.resolve(entry.experiment)["replicas"] == 1


def test_string_param_keeps_text_as_typed(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    assert params.resolve(entry.experiment, sets=["image=1.10"])["image"] == "1.10"


def test_masked_hides_secret_params(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    resolved = params.resolve(entry.experiment)
    assert params.masked(entry.experiment, resolved)["token"] == "***"
    assert params.masked(entry.experiment, resolved)["replicas"] == 1


@pytest.mark.parametrize(
    "template",
    [
        "x: {{ params.__class__ }}\n",
        "x: {{ ''.__class__.__mro__[1].__subclasses__() }}\n",
        "x: {{ cycler.__init__.__globals__.os.environ }}\n",
        "x: {{ lipsum.__globals__['os'].popen('id').read() }}\n",
        "x: {{ self._TemplateReference__context }}\n",
        "x: {{ params.update({'a': 1}) }}\n",
        "{% include '/etc/passwd' %}\n",
        "{% include '../../../../../../etc/hostname' %}\n",
        "{% import 'manifests/../../outside.j2' as m %}\n",
        "x: {{ range(10**9) | list | length }}\n",
    ],
)
def test_sandbox_escapes_fail_as_template_errors(tmp_path: Path, template: str) -> None:
    (tmp_path / "outside.j2").write_text("secret\n")
    entry = _entry(tmp_path, template)
    with pytest.raises(TemplateError) as info:
        render.render(entry, params.resolve(entry.experiment))
    assert "app.yaml.j2" in str(info.value)


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    entry = _entry(tmp_path, "{% include 'manifests/link' %}\n")
    (entry.folder / "manifests" / "link").symlink_to(secret)
    with pytest.raises(TemplateError, match="template not found"):
        render.render(entry, params.resolve(entry.experiment))


def test_render_does_not_expose_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_SECRET_TOKEN", "leak-me")
    entry = _entry(tmp_path, "x: {{ env }}\n")
    with pytest.raises(TemplateError, match="undefined"):
        render.render(entry, params.resolve(entry.experiment))


def test_render_is_deterministic_and_fills_namespaces(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    p = params.resolve(entry.experiment)
    first = render.to_yaml_stream(render.render(entry, p))
    assert first == render.to_yaml_stream(render.render(entry, p))
    rendering = render.render(entry, p)
    deploy = rendering.components[0].objects[0]
    assert deploy["metadata"]["namespace"] == "demo"
    assert [o["kind"] for o in rendering.objects()] == ["Namespace", "Deployment", "Service", "Secret"]


def test_cluster_scoped_objects_get_no_namespace(tmp_path: Path) -> None:
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        "  name: widgets.example.io\nspec:\n  group: example.io\n  scope: Cluster\n"
        "  names: {kind: Widget, plural: widgets}\n  versions: []\n---\n"
        "apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
    )
    entry = _entry(tmp_path, APP + "---\n" + crd)
    rendering = render.render(entry, params.resolve(entry.experiment))
    by_kind = {o["kind"]: o for o in rendering.components[0].objects}
    assert "namespace" not in by_kind["Widget"]["metadata"]
    assert "namespace" not in by_kind["ClusterRole"]["metadata"]
    assert "namespace" not in by_kind["CustomResourceDefinition"]["metadata"]


def test_mask_secrets_keeps_keys(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "eA=="}}
    assert render.mask_secrets(secret)["data"] == {"a": "***"}
    assert secret["data"] == {"a": "eA=="}


def test_unknown_set_key_is_usage_error(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    with pytest.raises(UsageError, match="unknown param"):
        params.resolve(entry.experiment, sets=["nope=1"])
    with pytest.raises(InputError):
        params.resolve(entry.experiment, values_files=[tmp_path / "missing.yaml"])


def test_system_namespaces_are_never_owned(tmp_path: Path) -> None:
    from tests.support.catalogs import MINIMAL

    manifest = MINIMAL.format(name="demo").replace("      namespace: demo\n", "      namespace: kube-system\n")
    write_experiment(tmp_path, "demo", manifest=manifest)
    entry = catalog.load(tmp_path / "demo")
    rendering = render.render(entry, params.resolve(entry.experiment))
    names = [o["metadata"]["name"] for o in rendering.objects() if o["kind"] == "Namespace"]
    assert "kube-system" not in names
    assert rendering.components[0].objects[0]["metadata"]["namespace"] == "kube-system"


MANY_CONFIGMAPS = """\
{% for i in range(15000) %}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-{{ i }}
data:
  index: "{{ i }}"
  level: info
{% endfor %}
"""


def test_a_template_may_render_thousands_of_objects_past_the_size_of_a_file(tmp_path: Path) -> None:
    entry = _entry(tmp_path, MANY_CONFIGMAPS)
    rendering = render.render(entry, params.resolve(entry.experiment))
    objects = rendering.components[0].objects
    assert len(objects) == 15000
    assert len(objects[0]["metadata"]) == 2 and objects[-1]["data"]["index"] == "14999"
    assert rendering.components[0].sources[7000].lines[("data", "index")] == 7000 * 8 + 7


def test_one_rendered_document_over_the_size_of_a_file_is_refused(tmp_path: Path) -> None:
    entry = _entry(tmp_path, "a: 1\n---\nb: {{ 'x' * 1100000 }}\n")
    with pytest.raises(InputError, match=r"the YAML document at line 3 is over the limit of 1048576 bytes"):
        render.render(entry, params.resolve(entry.experiment))


def test_each_item_of_a_list_keeps_the_lines_of_its_own_keys(tmp_path: Path) -> None:
    template = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        f"  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {{name: c{i}}}\n    data:\n      k: v\n"
        for i in range(3)
    )
    entry = _entry(tmp_path, template)
    comp = render.render(entry, params.resolve(entry.experiment)).components[0]
    assert [o["metadata"]["name"] for o in comp.objects] == ["c0", "c1", "c2"]
    assert [s.lines[()] for s in comp.sources] == [4, 9, 14]
    assert [s.lines[("data", "k")] for s in comp.sources] == [8, 13, 18]
    assert all(("items", 0) not in s.lines for s in comp.sources)
