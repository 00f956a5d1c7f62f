"""Building small experiment catalogs in temporary folders for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

MINIMAL = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata:
  name: {name}
  title: A test experiment
  phase: "3.1"
  type: demo
  tags: [testing]
spec:
  params:
    replicas: {{type: integer, default: 1}}
    image: {{type: string, default: "lab.local/labapp:1"}}
    token: {{type: string, default: "s3cr3t-value", secret: true}}
  namespaces:
    demo: {{podSecurity: baseline}}
  components:
    - name: app
      namespace: demo
      manifests: [manifests/app.yaml.j2]
  checks:
    - name: app ready
      ready: {{kind: Deployment, name: app, namespace: demo}}
    - name: app answers
      http: {{service: "demo/app:8080", path: /readyz}}
"""

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: {{ params.replicas }}
  selector:
    matchLabels: {app: demo}
  template:
    metadata:
      labels: {app: demo}
    spec:
      containers:
        - name: app
          image: {{ params.image | quote }}
---
apiVersion: v1
kind: Service
metadata:
  name: app
spec:
  selector: {app: demo}
  ports:
    - {port: 8080, protocol: TCP}
---
apiVersion: v1
kind: Secret
metadata:
  name: app-token
stringData:
  token: {{ params.token | quote }}
"""


def write_experiment(
    root: Path, name: str = "demo", manifest: str | None = None, files: dict[str, str | bytes] | None = None
) -> Path:
    folder = root / name
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    text = manifest if manifest is not None else MINIMAL.format(name=name)
    (folder / "experiment.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    all_files: dict[str, str | bytes] = {"manifests/app.yaml.j2": APP, "README.md": "# demo\n"}
    all_files.update(files or {})
    for rel, content in all_files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder
