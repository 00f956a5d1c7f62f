"""A template that loops into 15,000 objects lints with every finding a few bad ones among
them cause, each at its own template line (objects of one shape are validated once)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import Lab
from tests.support.catalogs import write_experiment

COUNT = 15000

TEMPLATE = """\
{% for i in range(params.count) %}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-{{ i }}
  labels: {app: demo}
data:
  index: {{ i if i == 7000 else '"%d"' % i }}
  level: {{ 'info' if i % 2 else 'debug' }}
{% if i == 9000 %}
dta: {}
{% endif %}
{% if i == 12345 %}
immutable: "yes"
{% endif %}
{% endfor %}
"""

MANIFEST = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata: {name: many, title: Many ConfigMaps, phase: "1", type: demo}
spec:
  params:
    count: {type: integer, default: 15000}
  namespaces:
    many: {}
  components:
    - name: config
      namespace: many
      manifests: [manifests/configmaps.yaml.j2]
"""


def test_bad_objects_among_15000_are_each_reported_at_their_template_line(tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    folder = write_experiment(root, "many", MANIFEST, files={"manifests/configmaps.yaml.j2": TEMPLATE})
    template = folder / "manifests" / "configmaps.yaml.j2"
    lines = TEMPLATE.splitlines()

    def at(start: str) -> str:
        return f"{template}:{next(i for i, text in enumerate(lines, start=1) if text.startswith(start))}"

    res: Any = Lab(root)("lint", "many", "-o", "json")
    assert res.exit_code == 1, res.output
    report = json.loads(res.stdout)[0]
    assert report["objects"] == COUNT + 1  # and the Namespace
    errors = [(f["where"], f["message"]) for f in report["findings"] if f["severity"] == "error"]
    assert errors == [
        (at("  index:"), "ConfigMap many/settings-7000: data.index: 7000 is not of type 'string', 'null'"),
        (at("dta:"), "ConfigMap many/settings-9000: (root): Additional properties are not allowed "
                     "('dta' was unexpected)"),
        (at("immutable:"), "ConfigMap many/settings-12345: immutable: 'yes' is not of type 'boolean', 'null'"),
    ]
