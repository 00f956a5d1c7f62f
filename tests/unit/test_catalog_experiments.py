"""The shipped catalog: every experiment lints clean, and no image is hard-coded.

Users behind a registry mirror, and the real-cluster tests that substitute locally built images,
rely on every image an experiment deploys being reachable through its params. This test renders
each experiment with its defaults through the CLI and requires every image reference — container
images in manifests, image fields in Helm values — to be assembled from param defaults alone
(joined by `/`, `:` or `@`). Charts are not in the (temporary, empty) chart cache here, so lint
covers the offline parts; images a chart brings itself are pinned by the chart version.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from illm_lab.cli.main import app
from illm_lab.model.checks import CHECK_TYPES as _CHECK_TYPES

CATALOG = Path(__file__).resolve().parents[2] / "experiments"
EXPERIMENTS = sorted(
    p.name for p in CATALOG.iterdir()
    if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "experiment.yaml").is_file()
)
# Keys of Helm values that hold an image or a part of one.
IMAGE_KEYS = {"image", "repository", "registry", "imageRegistry", "tag", "imageTag"}
POD_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def lab(*args: str) -> Any:
    return CliRunner().invoke(app, ["--experiments-dir", str(CATALOG), *args])


def test_the_catalog_is_not_empty() -> None:
    assert len(EXPERIMENTS) >= 15


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_lints_clean(name: str) -> None:
    res = lab("lint", name, "-o", "json")
    report = json.loads(res.stdout)
    errors = [f for r in report for f in r["findings"] if f["severity"] == "error"]
    assert res.exit_code == 0, f"{name}: {errors}"
    assert report[0]["ok"] is True


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_has_a_guide_and_meaningful_checks(name: str) -> None:
    folder = CATALOG / name
    assert (folder / "README.md").is_file()
    first = (folder / "experiment.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schema/experiment.schema.json"
    spec = json.loads(lab("show", name, "-o", "json").stdout)["spec"]
    kinds = {next(k for k in c if k in _CHECK_TYPES) for c in spec.get("checks", [])}
    assert kinds - {"ready"}, f"{name}: checks only wait for readiness"


def test_comparisons_declare_metrics() -> None:
    for name in EXPERIMENTS:
        shown = json.loads(lab("show", name, "-o", "json").stdout)
        if shown["metadata"]["type"] == "comparison":
            assert shown["spec"].get("metrics"), f"{name}: a comparison must declare spec.metrics"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_image_comes_from_params(name: str, tmp_path: Path) -> None:
    shown = json.loads(lab("show", name, "-o", "json").stdout)
    defaults = [
        str(p["default"]) for p in shown["spec"].get("params", {}).values()
        if isinstance(p.get("default"), str) and len(p["default"]) >= 2
    ]
    out = tmp_path / "rendered"
    res = lab("render", name, "--show-secrets", "--out", str(out))
    assert res.exit_code == 0, res.output
    images: list[tuple[str, str]] = []
    for path in sorted(out.iterdir()):
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        if path.name.endswith(".values.yaml"):
            for doc in docs:
                images += [(f"{path.name}: {where}", v) for where, v in _value_images(doc, "")]
        else:
            for doc in docs:
                images += [(f"{path.name}: {_ident(doc)}", v) for v in _pod_images(doc)]
    hard_coded = [(where, image) for where, image in images if not _from_params(image, defaults)]
    assert not hard_coded, f"{name}: images not built from params: {hard_coded}"


def _ident(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}"


def _pod_images(node: Any) -> list[str]:
    """Every `image` of every container list anywhere in an object."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in POD_CONTAINER_LISTS and isinstance(value, list):
                found += [str(c["image"]) for c in value if isinstance(c, dict) and "image" in c]
            else:
                found += _pod_images(value)
    elif isinstance(node, list):
        for item in node:
            found += _pod_images(item)
    return found


def _value_images(node: Any, where: str) -> list[tuple[str, str]]:
    """Non-empty strings under image-like keys of Helm values."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if key in IMAGE_KEYS and isinstance(value, str) and value:
                found.append((here, value))
            else:
                found += _value_images(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _value_images(item, f"{where}[{i}]")
    return found


def _from_params(image: str, defaults: list[str]) -> bool:
    """True if `image` is made only of param defaults joined by '/', ':' or '@'."""
    rest = image
    for value in sorted(set(defaults), key=len, reverse=True):
        rest = rest.replace(value, "")
    return re.fullmatch(r"[/:@]*", rest) is not None
