"""What a validation record says about the run: images deployed and the experiment's version."""

from __future__ import annotations

from pathlib import Path

from illm_lab import catalog
from illm_lab.conduct.records import experiment_hash, images_of
from tests.support.catalogs import write_experiment


def test_images_come_from_every_pod_template() -> None:
    objects = [
        {"kind": "Deployment", "spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "busybox:1"}],
            "containers": [{"name": "app", "image": "app:2"}, {"name": "side", "image": "busybox:1"}]}}}},
        {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "job", "image": "job:3"}]}}}}}},
        {"kind": "ConfigMap", "data": {"image": "not-a-container"}},
    ]
    assert images_of(objects) == ["app:2", "busybox:1", "job:3"]


def test_experiment_hash_follows_the_files_but_not_the_record(tmp_path: Path) -> None:
    entry = catalog.load(write_experiment(tmp_path, "demo"))
    first = experiment_hash(entry)
    (entry.folder / "validation.yaml").write_text("passed: true\n")
    assert experiment_hash(entry) == first
    (entry.folder / "manifests" / "app.yaml.j2").write_text("changed\n")
    assert experiment_hash(entry) != first
