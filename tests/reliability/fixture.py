"""The reliability fixture experiment, generated so that many distinct copies can be written.

`relia` is small but touches every step of a conduct that can strand something: a Namespace,
two components in `dependsOn` order (a ConfigMap and a Secret holding a `secret: true` param,
then a Deployment and a Service that lab waits for), four checks (ready, assert, absent, and
http through the API server's service proxy) and a load workflow Job. Copies differ by name and
namespace only, so parallel conducts of different copies share no object.
"""

from __future__ import annotations

from pathlib import Path

# The value of the `secret: true` param; it must never appear in any output lab writes.
SECRET = "relia-s3cr3t-4f9c1d7e"

MANIFEST = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata:
  name: {name}
  title: Reliability fixture {name}
  phase: "1"
  type: demo
  tags: [fixture]
spec:
  params:
    image: {{type: string, default: "ghcr.io/stefanprodan/podinfo:6.7.1"}}
    pullPolicy: {{type: string, default: IfNotPresent}}
    replicas: {{type: integer, default: 2}}
    greeting: {{type: string, default: hello}}
    token: {{type: string, default: "{secret}", secret: true}}
  namespaces:
    {ns}: {{podSecurity: baseline}}
  components:
    - name: config
      namespace: {ns}
      manifests: [manifests/config.yaml.j2]
    - name: app
      namespace: {ns}
      dependsOn: [config]
      timeout: {timeout}
      manifests: [manifests/app.yaml.j2]
  checks:
    - name: web ready
      ready: {{kind: Deployment, name: web, namespace: {ns}}}
    - name: settings carry the greeting
      assert:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: settings, namespace: {ns}}}
          data: {{greeting: hello}}
    - name: nothing obsolete
      absent:
        resource:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: obsolete, namespace: {ns}}}
    - name: web answers
      http: {{service: "{ns}/web:9898", path: /readyz, expect: {{status: 200}}}}
  workflow:
    cluster: target
    namespace: {ns}
    manifests: [manifests/load.yaml.j2]
    waitFor: load
    timeout: {timeout}
"""

CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: {{ params.greeting | quote }}
---
apiVersion: v1
kind: Secret
metadata:
  name: credentials
type: Opaque
stringData:
  token: {{ params.token | quote }}
"""

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: {{ params.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: web
          image: {{ params.image | quote }}
          imagePullPolicy: {{ params.pullPolicy }}
          ports:
            - {name: http, containerPort: 9898, protocol: TCP}
          readinessProbe:
            httpGet: {path: /readyz, port: http}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 9898, targetPort: http, protocol: TCP}
"""

LOAD = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: load
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
        - name: load
          image: {{ params.image | quote }}
          imagePullPolicy: {{ params.pullPolicy }}
          command: ["true"]
"""


PLATFORM = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata:
  name: hub
  title: Reliability fixture hub platform
  phase: "1"
  type: demo
spec:
  params:
    image: {{type: string, default: "ghcr.io/stefanprodan/podinfo:6.7.1"}}
    pullPolicy: {{type: string, default: IfNotPresent}}
    replicas: {{type: integer, default: 2}}
    greeting: {{type: string, default: hello}}
    token: {{type: string, default: "{secret}", secret: true}}
  clusters:
    hub: {{provider: existing}}
  namespaces:
    {ns}: {{podSecurity: baseline}}
  components:
    - name: config
      cluster: hub
      namespace: {ns}
      manifests: [manifests/config.yaml.j2]
    - name: app
      cluster: hub
      namespace: {ns}
      dependsOn: [config]
      timeout: 30s
      manifests: [manifests/app.yaml.j2]
"""


def write_platform(root: Path, namespace: str = "relia-hub") -> Path:
    """A hub platform (`lab hub bootstrap --platform <root>/hub`) made of the fixture's manifests."""
    folder = root / "hub"
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    (folder / "experiment.yaml").write_text(PLATFORM.format(ns=namespace, secret=SECRET), encoding="utf-8")
    (folder / "manifests" / "config.yaml.j2").write_text(CONFIG, encoding="utf-8")
    (folder / "manifests" / "app.yaml.j2").write_text(APP, encoding="utf-8")
    (folder / "README.md").write_text("# hub\n\nReliability fixture platform.\n", encoding="utf-8")
    return folder


def write_relia(root: Path, name: str = "relia", namespace: str | None = None, timeout: str = "30s") -> Path:
    """Write the fixture experiment `name` (namespace `namespace`, default = name) under `root`."""
    folder = root / name
    (folder / "manifests").mkdir(parents=True, exist_ok=True)
    ns = namespace or name
    (folder / "experiment.yaml").write_text(
        MANIFEST.format(name=name, ns=ns, secret=SECRET, timeout=timeout), encoding="utf-8"
    )
    (folder / "manifests" / "config.yaml.j2").write_text(CONFIG, encoding="utf-8")
    (folder / "manifests" / "app.yaml.j2").write_text(APP, encoding="utf-8")
    (folder / "manifests" / "load.yaml.j2").write_text(LOAD, encoding="utf-8")
    (folder / "README.md").write_text(f"# {name}\n\nReliability fixture.\n", encoding="utf-8")
    return folder


def copies(n: int, prefix: str = "relia") -> list[str]:
    """Names of `n` distinct copies: relia-01, relia-02, ..."""
    return [f"{prefix}-{i:02d}" for i in range(1, n + 1)]
