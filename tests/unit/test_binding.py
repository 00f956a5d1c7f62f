"""Params inside checks: rendered with defaults at load, with the run's params when bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from illm_lab import catalog
from illm_lab.base.errors import InputError
from illm_lab.catalog import params
from illm_lab.model import checks as m
from tests.support.catalogs import MINIMAL, write_experiment

TEMPLATED = MINIMAL.format(name="demo").replace(
    "      ready: {kind: Deployment, name: app, namespace: demo}\n",
    "      ready: {kind: Deployment, name: app, namespace: demo}\n"
    "    - name: replicas\n"
    "      assert:\n"
    "        resource:\n"
    "          apiVersion: apps/v1\n"
    "          kind: Deployment\n"
    "          metadata: {name: app, namespace: demo}\n"
    "          status: {readyReplicas: '(>= {{ params.replicas }})'}\n"
    "    - name: probe\n"
    "      job: {namespace: demo, image: '{{ params.image }}', command: [wget, -qO-, 'http://app:8080/']}\n",
)


def test_defaults_at_load_and_params_when_bound(tmp_path: Path) -> None:
    write_experiment(tmp_path, "demo", manifest=TEMPLATED)
    entry = catalog.load(tmp_path / "demo")
    check = entry.experiment.spec.checks[1]
    assert isinstance(check, m.AssertCheck)
    assert check.assert_.resource["status"] == {"readyReplicas": "(>= 1)"}
    bound = catalog.bind(entry, params.resolve(entry.experiment, sets=["replicas=3", "image=mirror/app:2"]))
    check = bound.experiment.spec.checks[1]
    job = bound.experiment.spec.checks[2]
    assert isinstance(check, m.AssertCheck) and isinstance(job, m.JobCheck)
    assert check.assert_.resource["status"] == {"readyReplicas": "(>= 3)"}
    assert job.job.image == "mirror/app:2"
    assert entry.experiment.spec.checks[2].job.image == "lab.local/labapp:1"  # type: ignore[union-attr]


def test_undefined_param_in_a_check_names_the_line(tmp_path: Path) -> None:
    write_experiment(tmp_path, "demo", manifest=TEMPLATED.replace("params.image", "params.imgae"))
    with pytest.raises(InputError) as info:
        catalog.load(tmp_path / "demo")
    assert str(info.value).endswith("spec.checks[2].job.image: unknown param imgae — did you mean image?")
    assert "experiment.yaml:31" in str(info.value)


def test_sandbox_applies_to_check_templates(tmp_path: Path) -> None:
    write_experiment(tmp_path, "demo", manifest=TEMPLATED.replace("{{ params.image }}", "{{ params.__class__ }}"))
    with pytest.raises(InputError, match=r"spec\.checks"):
        catalog.load(tmp_path / "demo")
