"""Rendered names and user options never become file paths outside their folder, and masking
reaches a Secret however deeply it is nested in Lists."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab.authoring import openapi
from illm_lab.authoring.lint import lint_folder
from illm_lab.base.errors import UsageError
from illm_lab.catalog.params import MASK
from illm_lab.cli.main import app
from illm_lab.rendering import output, render
from illm_lab.rendering.render import mask_secrets
from tests.support.catalogs import MINIMAL, write_experiment


@pytest.mark.parametrize(("kind", "api_version"), [
    ("../../x", "v1"),
    ("Config/Map", "v1"),
    ("ConfigMap", "apps/../v1"),
    ("ConfigMap", "a..b/v1"),
    ("ConfigMap", "-x.com/v1"),
    ("ConfigMap", "x-.com/v1"),
    ("ConfigMap", "Apps/v1"),
    ("ConfigMap", "apps/v1/.."),
    ("ConfigMap", "apps//v1"),
])
def test_invalid_kind_or_api_version_is_never_looked_up(kind: str, api_version: str) -> None:
    assert openapi.name_problem(kind, api_version) is not None
    assert openapi._validator("1.31", kind, api_version) is None


@pytest.mark.parametrize(("kind", "api_version"), [
    ("ConfigMap", "v1"), ("Deployment", "apps/v1"), ("Ingress", "networking.k8s.io/v1"),
    ("Widget", "example.com/v1alpha1"), ("HorizontalPodAutoscaler", "autoscaling/v2beta2"),
])
def test_valid_kind_and_api_version_pass(kind: str, api_version: str) -> None:
    assert openapi.name_problem(kind, api_version) is None


def _experiment(tmp_path: Path, extra: str) -> Path:
    manifest = MINIMAL.format(name="demo").replace(
        "manifests: [manifests/app.yaml.j2]", "manifests: [manifests/app.yaml.j2, manifests/extra.yaml]")
    return write_experiment(tmp_path, "demo", manifest, files={"manifests/extra.yaml": extra})


def test_lint_reports_a_dotted_api_group_as_an_error_naming_the_object(tmp_path: Path) -> None:
    folder = _experiment(tmp_path, "apiVersion: apps..x/v1\nkind: Deployment\nmetadata: {name: evil}\n")
    errors = [f.message for f in lint_folder(folder).findings if f.severity == "error"]
    assert any(e.startswith("Deployment demo/evil: apiVersion 'apps..x/v1'") for e in errors), errors


@pytest.mark.parametrize("version", ["1.31/../..", "1.31/../../etc", "../1.31", "1.31 ", "v1.31", "1", "1.31.0.1"])
def test_lint_refuses_a_kube_version_that_is_not_a_version(tmp_path: Path, version: str) -> None:
    root = tmp_path / "experiments"
    write_experiment(root, "demo")
    res: Any = CliRunner().invoke(app, ["--experiments-dir", str(root), "lint", "--kube-version", version])
    assert res.exit_code == 2, res.output
    assert "--kube-version" in res.output


@pytest.mark.parametrize("version", ["1.31", "1.30.2"])
def test_lint_accepts_a_kube_version(tmp_path: Path, version: str) -> None:
    root = tmp_path / "experiments"
    write_experiment(root, "demo")
    res: Any = CliRunner().invoke(app, ["--experiments-dir", str(root), "lint", "--kube-version", version])
    assert res.exit_code == 0, res.output


def _rendering(tmp_path: Path) -> render.Rendering:
    from illm_lab import catalog
    from illm_lab.catalog import params

    root = tmp_path / "experiments"
    folder = write_experiment(root, "demo")
    entry = catalog.entries.load(folder)
    return render.render(entry, params.resolve(entry.experiment))


def test_render_out_refuses_a_planted_file_symlink(tmp_path: Path) -> None:
    rendering = _rendering(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    names = [p.name for p in output.write_rendering(rendering, tmp_path / "probe")]
    assert names
    for name in names:
        (out / name).symlink_to(victim)
    with pytest.raises(UsageError, match="symlink"):
        output.write_rendering(rendering, out)
    assert victim.read_text() == "untouched\n"


def test_render_out_never_creates_the_target_of_a_dangling_symlink(tmp_path: Path) -> None:
    rendering = _rendering(tmp_path)
    names = [p.name for p in output.write_rendering(rendering, tmp_path / "probe")]
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere" / "planted.yaml"
    target.parent.mkdir()
    (out / names[0]).symlink_to(target)
    with pytest.raises(UsageError, match="symlink"):
        output.write_rendering(rendering, out)
    assert not target.exists()


def test_render_out_cli_never_writes_through_a_symlink(tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    write_experiment(root, "demo")
    rendering = _rendering(tmp_path / "x")
    names = [p.name for p in output.write_rendering(rendering, tmp_path / "probe")]
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    os.symlink(victim, out / names[-1])
    res: Any = CliRunner().invoke(app, ["--experiments-dir", str(root), "render", "demo", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "symlink" in res.output
    assert victim.read_text() == "untouched\n"


NESTED = {
    "apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
             "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "hunter2"}},
        ]},
    ],
}


def test_a_secret_in_a_list_in_a_list_is_masked() -> None:
    masked = mask_secrets(NESTED)
    secret = masked["items"][0]["items"][0]
    assert secret["data"] == {"password": MASK}
    assert secret["stringData"] == {"token": MASK}
    assert NESTED["items"][0]["items"][0]["data"] == {"password": "aHVudGVyMg=="}  # not mutated


def test_lab_render_masks_a_secret_in_a_list_in_a_list(tmp_path: Path) -> None:
    extra = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: List\n  metadata: {name: inner}\n  items:\n"
        "  - apiVersion: v1\n    kind: Secret\n    metadata: {name: nested}\n"
        "    stringData: {token: s3cr3t-n3st3d}\n"
    )
    _experiment(tmp_path / "experiments", extra)
    res: Any = CliRunner().invoke(app, ["--experiments-dir", str(tmp_path / "experiments"), "render", "demo"])
    assert res.exit_code == 0, res.output
    assert "kind: Secret" in res.output and "s3cr3t-n3st3d" not in res.output, res.output
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["--experiments-dir", str(tmp_path / "experiments"), "render", "demo",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    for path in out.iterdir():
        assert "s3cr3t-n3st3d" not in path.read_text()


def test_diff_masks_a_secret_in_a_list_in_a_list() -> None:
    from illm_lab.engine import diff

    text = diff._text(NESTED, set())
    assert "aHVudGVyMg==" not in text and "hunter2" not in text, text
    assert MASK in text
