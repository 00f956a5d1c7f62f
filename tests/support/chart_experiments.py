"""Experiments with a Helm component, built in temporary folders for the chart tests."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from tests.support.fakebin import FIXTURE_CHARTS

LOCAL = "{path: charts/labdemo, values: values/web.yaml.j2}"
REPO = "{repo: 'https://charts.example.com/', chart: labdemo, version: 0.1.0, values: values/web.yaml.j2}"
OCI = "{oci: 'oci://registry.example.com/charts/labdemo', version: 0.1.0, values: values/web.yaml.j2}"

MANIFEST = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata:
  name: {name}
  title: An experiment with a chart
  phase: "3.1"
  type: demo
spec:
  params:
    replicas: {{type: integer, default: 2}}
    greeting: {{type: string, default: hello from lab}}
  namespaces:
    {namespace}: {{podSecurity: baseline}}
  components:
    - name: web
      namespace: {namespace}
      helm: {helm}
  checks:
    - name: web ready
      ready: {{kind: Deployment, name: web, namespace: {namespace}}}
    - name: widget present
      assert:
        resource:
          apiVersion: lab.example.com/v1
          kind: Widget
          metadata: {{name: web-widget, namespace: {namespace}}}
"""

VALUES = """\
replicas: {{ params.replicas }}
greeting: {{ params.greeting | quote }}
"""


def write_chart_experiment(root: Path, name: str = "charted", *, helm: str = LOCAL,
                           values: str = VALUES, chart: str = "labdemo", namespace: str = "web") -> Path:
    folder = root / name
    (folder / "values").mkdir(parents=True, exist_ok=True)
    (folder / "experiment.yaml").write_text(textwrap.dedent(MANIFEST.format(name=name, helm=helm, namespace=namespace)))
    (folder / "values" / "web.yaml.j2").write_text(values)
    (folder / "README.md").write_text("# charted\n")
    if "path:" in helm:
        shutil.copytree(FIXTURE_CHARTS / chart, folder / "charts" / chart)
    return folder
