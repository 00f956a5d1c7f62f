"""The bad-input corpus, as data: every case is files, a command line and what must come back.

What must come back, for every case: the expected exit code (2 for bad input, 3 for a cluster
that cannot be reached), no traceback and no "internal error", and an error that matches the
case's pattern — which names the file and the field (with the line where there is one), or the
flag. Manifest and template cases also run under `lab lint`, which must exit 1 with the same
finding. The cases build on the small `demo` experiment of `tests.support.catalogs`.

Groups: manifest (field by field), yaml (hazards — alias bombs, deep nesting, huge files, binary
garbage, duplicate keys, non-UTF-8 — applied to every YAML input lab reads: manifests, values
files, lab config files, kubeconfigs, and what templates render), template, values, flag,
config, kubeconfig.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.harness import ERROR_PREFIX, LabRun, run_lab
from tests.support.catalogs import APP, MINIMAL, write_experiment

GOOD = MINIMAL.format(name="demo")
PLATFORM = """\
apiVersion: lab.illm.io/v1alpha1
kind: Experiment
metadata: {name: hub, title: Corpus hub platform, phase: "1", type: demo}
spec:
  params:
    replicas: {type: integer, default: 1}
    image: {type: string, default: "lab.local/labapp:1"}
    token: {type: string, default: "s3cr3t-value", secret: true}
  clusters:
    hub: {provider: existing}
  components:
    - name: app
      cluster: hub
      namespace: demo
      manifests: [manifests/app.yaml.j2]
"""
MANIFEST = "experiments/demo/experiment.yaml"
TEMPLATE = "experiments/demo/manifests/app.yaml.j2"
SECRET = "s3cr3t-value"  # the demo experiment's `secret: true` param


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    args: tuple[str, ...]  # after `--experiments-dir`; "{ws}" is the case's workspace
    expect: str  # regex over stderr: names the file and field (or the flag)
    exit: int = 2
    files: Mapping[str, str | bytes] = field(default_factory=dict)  # relative to the workspace
    lint: bool = False  # also `lab lint demo`: exit 1 with a finding matching `expect`


@dataclass
class Outcome:
    case: Case
    run: LabRun
    problems: list[str]
    lint: LabRun | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.case.id, "group": self.case.group, "exit": self.run.exit_code,
            "expected": self.case.exit, "crashed": self.run.crashed, "problems": self.problems,
        }


# ---------------------------------------------------------------- building blocks


def replace(old: str, new: str, text: str = GOOD) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def render(ident: str, group: str, files: Mapping[str, str | bytes], expect: str, *, lint: bool = True) -> Case:
    return Case(ident, group, ("render", "demo"), expect, files=files, lint=lint)


def manifest(ident: str, text: str | bytes, expect: str) -> Case:
    return render(ident, "manifest", {MANIFEST: text}, r"experiment\.yaml" + expect)


def mutate(ident: str, old: str, new: str, expect: str) -> Case:
    return manifest(ident, replace(old, new), expect)


def template(ident: str, text: str | bytes, expect: str, *, group: str = "template") -> Case:
    return render(ident, group, {TEMPLATE: text}, r"app\.yaml\.j2" + expect)


def values(ident: str, text: str | bytes, expect: str, *, group: str = "values") -> Case:
    return Case(_prefixed("values", ident), group, ("render", "demo", "--values", "{ws}/values.yaml"),
                r"values\.yaml" + expect, files={"values.yaml": text})


def flag(ident: str, args: tuple[str, ...], expect: str, exit: int = 2,
         files: Mapping[str, str | bytes] | None = None) -> Case:
    return Case(ident, "flag", args, expect, exit=exit, files=files or {})


def config(ident: str, text: str | bytes, expect: str, *, group: str = "config") -> Case:
    """A lab config file (LAB_CONFIG) read by a dry-run conduct, which selects clusters."""
    return Case(_prefixed("config", ident), group, ("conduct", "demo", "--dry-run", "--ci"), r"config\.yaml" + expect,
                files={"config.yaml": text})


def kubeconfig(ident: str, text: str | bytes, expect: str, *, exit: int = 2, group: str = "kubeconfig",
               extra: tuple[str, ...] = ()) -> Case:
    return Case(_prefixed("kubeconfig", ident), group, ("conduct", "demo", "--ci", "--kubeconfig", "{ws}/kubeconfig", *extra),
                r"kubeconfig" + expect, exit=exit, files={"kubeconfig": text})


def _prefixed(prefix: str, ident: str) -> str:
    return ident if ident.startswith(prefix + "-") else f"{prefix}-{ident}"


def kube_doc(server: str = "http://127.0.0.1:9", *, cluster: str = "", user: str = "{token: t0k3n-xyz}",
             context: str = "{cluster: c, user: u}", current: str = "a") -> str:
    return (
        f"apiVersion: v1\nkind: Config\ncurrent-context: {current}\n"
        f"contexts:\n- name: a\n  context: {context}\n"
        f"clusters:\n- name: c\n  cluster: {{server: '{server}'{cluster}}}\n"
        f"users:\n- name: u\n  user: {user}\n"
    )


# ---------------------------------------------------------------- YAML hazards


def alias_bomb(levels: int = 9, prefix: str = "") -> str:
    lines = [f"{prefix}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"{prefix}l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def garbage(seed: int, size: int = 4096) -> bytes:
    rng = random.Random(seed)
    data = bytearray(rng.randrange(256) for _ in range(size))
    data[1] = 0xFF  # never valid UTF-8
    return bytes(data)


def hazards(valid_head: str) -> Iterator[tuple[str, str | bytes, str]]:
    """(name, content, expected message) of every YAML hazard; `valid_head` is a valid start of
    the file kind, so hazards placed after it are found where they are."""
    yield "alias-bomb", alias_bomb(), r"(:\d+)?: .*more than 100 aliases"
    yield "alias-bomb-nested", valid_head + alias_bomb(6, "x") + "y: [*l5, *l5, *l5, *l5, *l5]\n", \
        r"(:\d+)?: .*more than 100 aliases"
    yield "recursive-alias", "a: &a [*a, *a]\n", r"(:\d+)?: .*(nested deeper than 64|more than 100 aliases)"
    yield "deep-flow", "a: " + "[" * 200 + "]" * 200 + "\n", r"(:\d+)?: .*(nested deeper than 64|nesting depth)"
    yield "deep-mapping", "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n", \
        r"(:\d+)?: .*nested deeper than 64"
    yield "deep-libyaml", "a: " + "{x: " * 20000 + "1" + "}" * 20000 + "\n", \
        r"(:\d+)?: .*(nested deeper than 64|nesting depth)"
    yield "huge", valid_head + "pad: " + "x" * (1024 * 1024 + 10) + "\n", r"(:\d+)?: .*over the limit of 1048576 bytes"
    yield "huge-lines", valid_head + "".join(f"# {i:08d}\n" for i in range(110_000)), r"(:\d+)?: .*over the limit"
    yield "garbage", garbage(1), r"(:\d+)?: .*(not valid UTF-8|invalid YAML)"
    yield "garbage-2", garbage(2, 65536), r"(:\d+)?: .*(not valid UTF-8|invalid YAML)"
    yield "nul-byte", valid_head + "x: a\x00b\n", r"(:\d+)?: .*invalid YAML"
    yield "latin-1", valid_head.encode() + b"x: caf\xe9\n", r":\d+: .*not valid UTF-8 \(byte 0xe9"
    yield "utf-16", valid_head.encode("utf-16"), r"(:\d+)?: .*not valid UTF-8"
    yield "duplicate-key", valid_head + "dup: 1\ndup: 2\n", r":\d+: .*duplicate key 'dup' \(first at line \d+\)"
    yield "duplicate-nested-key", valid_head + "outer:\n  a: 1\n  a: 2\n", r":\d+: .*duplicate key 'a'"
    yield "unclosed-flow", valid_head + "x: [a, b\n", r":\d+: .*invalid YAML"
    yield "tab-indent", valid_head + "x:\n\t- a\n", r":\d+: .*invalid YAML"
    yield "unterminated-quote", valid_head + 'x: "abc\n', r":\d+: .*invalid YAML"
    yield "python-tag", valid_head + "x: !!python/object/apply:os.system ['echo pwned']\n", \
        r":\d+: .*invalid YAML: could not determine a constructor"
    yield "custom-tag", valid_head + "x: !Ref other\n", r":\d+: .*invalid YAML: could not determine a constructor"
    yield "undefined-alias", valid_head + "x: *nope\n", r":\d+: .*invalid YAML: found undefined alias"
    yield "unhashable-key", valid_head + "? [a, b]\n: c\n", r":\d+: .*invalid YAML"


# ---------------------------------------------------------------- the cases


def manifest_cases() -> Iterator[Case]:
    m = mutate
    # top level and metadata
    yield manifest("scalar-document", "just text\n", r":1: an experiment manifest must be a mapping")
    yield manifest("list-document", "- a\n", r":1: an experiment manifest must be a mapping")
    yield manifest("null-document", "~\n", r": expected one YAML document, found 0")
    yield manifest("comments-only", "# nothing\n", r": expected one YAML document, found 0")
    yield manifest("two-documents", GOOD + "---\nkind: x\n", r": expected one YAML document, found 2")
    yield m("api-version-missing", "apiVersion: lab.illm.io/v1alpha1\n", "", r":\d+: apiVersion: required field is missing")
    yield m("api-version-v2", "lab.illm.io/v1alpha1", "lab.illm.io/v2", r":1: apiVersion: ")
    yield m("api-version-number", "apiVersion: lab.illm.io/v1alpha1", "apiVersion: 1", r":1: apiVersion: ")
    yield m("kind-lowercase", "kind: Experiment", "kind: experiment", r":2: kind: ")
    yield m("kind-list", "kind: Experiment", "kind: [Experiment]", r":2: kind: ")
    yield m("metadata-list", "metadata:\n  name: demo\n", "metadata:\n- name: demo\n", r":\d+: (metadata|spec)")
    yield m("name-uppercase", "  name: demo\n", "  name: Demo\n", r":4: metadata\.name: ")
    yield m("name-underscore", "  name: demo\n", "  name: de_mo\n", r":4: metadata\.name: ")
    yield m("name-empty", "  name: demo\n", "  name: ''\n", r":4: metadata\.name: ")
    yield m("name-too-long", "  name: demo\n", f"  name: {'d' * 64}\n", r":4: metadata\.name: ")
    yield m("name-number", "  name: demo\n", "  name: 42\n", r":4: metadata\.name: ")
    yield m("name-null", "  name: demo\n", "  name:\n", r":4: metadata\.name: ")
    yield m("name-mapping", "  name: demo\n", "  name: {a: b}\n", r":4: metadata\.name: ")
    yield m("title-empty", "  title: A test experiment\n", "  title: ''\n", r":5: metadata\.title: ")
    yield m("title-too-long", "  title: A test experiment\n", f"  title: {'t' * 121}\n", r":5: metadata\.title: ")
    yield m("title-list", "  title: A test experiment\n", "  title: [a]\n", r":5: metadata\.title: ")
    yield m("phase-zero", '  phase: "3.1"\n', '  phase: "0"\n', r":6: metadata\.phase: ")
    yield m("phase-ten", '  phase: "3.1"\n', "  phase: 10\n", r":6: metadata\.phase: ")
    yield m("phase-bool", '  phase: "3.1"\n', "  phase: true\n", r":6: metadata\.phase: ")
    yield m("phase-date", '  phase: "3.1"\n', "  phase: 2024-01-01\n", r":6: metadata\.phase: ")
    yield m("phase-letter-t", '  phase: "3.1"\n', "  phase: T\n", r":6: metadata\.phase: ")
    yield m("type-number", "  type: demo\n", "  type: 3\n", r":7: metadata\.type: ")
    yield m("tags-string", "tags: [testing]", "tags: testing", r":8: metadata\.tags: ")
    yield m("tags-number", "tags: [testing]", "tags: [1]", r":8: metadata\.tags(\[0\])?: ")
    yield m("tags-uppercase", "tags: [testing]", "tags: [Testing]", r":8: metadata\.tags: ")
    yield m("description-list", "  tags: [testing]\n", "  tags: [testing]\n  description: [x]\n",
            r":9: metadata\.description: ")
    # params
    yield m("params-list", "  params:\n", "  params: []\n  unused:\n", r":\d+: spec\.")
    yield m("param-type-unknown", "{type: integer, default: 1}", "{type: float, default: 1}",
            r":11: spec\.params\.replicas\.type: ")
    yield m("param-default-string-for-int", "{type: integer, default: 1}", "{type: integer, default: '1'}",
            r":11: spec\.params\.replicas: default '1' is not of type integer")
    yield m("param-default-bool-for-int", "{type: integer, default: 1}", "{type: integer, default: true}",
            r":11: spec\.params\.replicas: default True is not of type integer")
    yield m("param-default-float-for-int", "{type: integer, default: 1}", "{type: integer, default: 1.5}",
            r":11: spec\.params\.replicas: ")
    yield m("param-enum-default", "{type: integer, default: 1}", "{type: integer, default: 1, enum: [2, 3]}",
            r":11: spec\.params\.replicas: default is not one of enum")
    yield m("param-enum-not-list", "{type: integer, default: 1}", "{type: integer, default: 1, enum: 2}",
            r":11: spec\.params\.replicas\.enum: ")
    yield m("param-secret-not-bool", 'secret: true}', 'secret: maybe}', r":13: spec\.params\.token\.secret: ")
    yield m("param-name-digit", "    replicas:", "    1replicas:", r":\d+: spec\.params: .*identifier")
    yield m("param-not-mapping", "    replicas: {type: integer, default: 1}\n", "    replicas: 3\n",
            r":11: spec\.params\.replicas: ")
    # clusters and namespaces
    yield m("cluster-role-unknown", "  namespaces:\n", "  clusters: {edge: {}}\n  namespaces:\n", r":\d+: spec\.clusters")
    yield m("cluster-provider-unknown", "  namespaces:\n", "  clusters: {target: {provider: minikube}}\n  namespaces:\n",
            r":14: spec\.clusters\.target\.provider: ")
    yield m("cluster-size-unknown", "  namespaces:\n", "  clusters: {target: {size: huge}}\n  namespaces:\n",
            r":14: spec\.clusters\.target\.size: ")
    yield m("cluster-unknown-field", "  namespaces:\n", "  clusters: {target: {nodes: 3}}\n  namespaces:\n",
            r":14: spec\.clusters\.target\.nodes: unknown field")
    yield m("namespace-uppercase", "    demo: {podSecurity: baseline}\n", "    Demo: {podSecurity: baseline}\n",
            r":\d+: spec\.namespaces: ")
    yield m("namespace-labels-list", "{podSecurity: baseline}", "{podSecurity: baseline, labels: [a]}",
            r":15: spec\.namespaces\.demo\.labels: ")
    yield m("namespace-label-value-number", "{podSecurity: baseline}", "{podSecurity: baseline, labels: {a: 1}}",
            r":15: spec\.namespaces\.demo\.labels\.a: ")
    yield m("namespaces-list", "    demo: {podSecurity: baseline}\n", "    - demo\n", r":\d+: spec\.namespaces: ")
    # components
    yield m("components-mapping", "    - name: app\n      namespace: demo\n      manifests: [manifests/app.yaml.j2]\n",
            "    app: {}\n", r":\d+: spec\.components: ")
    yield m("component-name-bad", "    - name: app\n      namespace", "    - name: App_1\n      namespace",
            r":17: spec\.components\[0\]\.name: ")
    yield m("component-name-too-long", "    - name: app\n      namespace", f"    - name: {'a' * 54}\n      namespace",
            r":17: spec\.components\[0\]\.name: ")
    yield m("component-namespace-bad", "      namespace: demo\n      manifests", "      namespace: Demo\n      manifests",
            r":18: spec\.components\[0\]\.namespace: ")
    yield m("component-manifests-empty", "manifests: [manifests/app.yaml.j2]", "manifests: []",
            r":19: spec\.components\[0\]\.manifests: ")
    yield m("component-manifests-string", "manifests: [manifests/app.yaml.j2]", "manifests: manifests/app.yaml.j2",
            r":19: spec\.components\[0\]\.manifests: ")
    yield m("component-timeout-bad", "      manifests: [manifests/app.yaml.j2]\n",
            "      manifests: [manifests/app.yaml.j2]\n      timeout: forever\n", r":20: spec\.components\[0\]\.timeout: ")
    yield m("component-timeout-zero", "      manifests: [manifests/app.yaml.j2]\n",
            "      manifests: [manifests/app.yaml.j2]\n      timeout: 0s\n", r":20: spec\.components\[0\]\.timeout: ")
    yield m("component-timeout-25h", "      manifests: [manifests/app.yaml.j2]\n",
            "      manifests: [manifests/app.yaml.j2]\n      timeout: 25h\n", r":20: spec\.components\[0\]\.timeout: ")
    yield m("component-wait-string", "      manifests: [manifests/app.yaml.j2]\n",
            "      manifests: [manifests/app.yaml.j2]\n      wait: sometimes\n", r":20: spec\.components\[0\]\.wait: ")
    yield m("component-depends-self", "      namespace: demo\n      manifests", "      namespace: demo\n      dependsOn: [app]\n      manifests",
            r":9: spec: dependsOn cycle: app -> app")
    yield m("component-duplicate", "  checks:\n",
            "    - name: app\n      namespace: demo\n      manifests: [manifests/app.yaml.j2]\n  checks:\n",
            r":9: spec: duplicate component names: app")
    yield m("component-helm-no-namespace", "      namespace: demo\n      manifests: [manifests/app.yaml.j2]\n",
            "      helm: {repo: 'https://charts.example', chart: c, version: 1.0.0}\n",
            r":17: spec\.components\[0\]: .*namespace is required")
    yield m("component-helm-repo-ftp", "      manifests: [manifests/app.yaml.j2]\n",
            "      helm: {repo: 'ftp://charts.example', chart: c, version: 1.0.0}\n",
            r":19: spec\.components\[0\]\.helm: repo must be an http\(s\) URL")
    yield m("component-helm-no-chart", "      manifests: [manifests/app.yaml.j2]\n",
            "      helm: {repo: 'https://charts.example', version: 1.0.0}\n", r":19: spec\.components\[0\]\.helm: chart is required")
    yield m("component-helm-two-sources", "      manifests: [manifests/app.yaml.j2]\n",
            "      helm: {repo: 'https://x', oci: 'oci://y', chart: c, version: 1.0.0}\n",
            r":19: spec\.components\[0\]\.helm: give exactly one of repo, oci or path")
    yield m("component-helm-release-bad", "      manifests: [manifests/app.yaml.j2]\n",
            "      helm: {repo: 'https://x', chart: c, version: 1.0.0, releaseName: Bad_Name}\n",
            r":19: spec\.components\[0\]\.helm\.releaseName: ")
    # checks
    c0 = "      ready: {kind: Deployment, name: app, namespace: demo}\n"
    yield m("checks-mapping", "  checks:\n", "  checks: {one: {name: x}}\n  unused:\n", r":\d+: spec\.checks: ")
    yield m("check-no-name", "    - name: app ready\n" + c0, "    - " + c0.strip() + "\n", r":21: spec\.checks\[0\]\.name: ")
    yield m("check-ready-no-kind", c0, "      ready: {name: app, namespace: demo}\n", r":22: spec\.checks\[0\]\.ready\.kind: ")
    yield m("check-ready-neither", c0, "      ready: {kind: Deployment}\n", r":22: spec\.checks\[0\]\.ready: give a name or a selector")
    yield m("check-ready-selector-list", c0, "      ready: {kind: Deployment, selector: [a]}\n",
            r":22: spec\.checks\[0\]\.ready\.selector: ")
    yield m("check-cluster-undeclared", c0, c0 + "      cluster: loadgen\n", r":\d+: spec: check 'app ready': cluster loadgen is not declared")
    yield m("check-cluster-bad", c0, c0 + "      cluster: edge\n", r":23: spec\.checks\[0\]\.cluster: ")
    yield m("check-timeout-list", c0, c0 + "      timeout: [1]\n", r":23: spec\.checks\[0\]\.timeout: ")
    yield m("check-assert-no-kind", c0, "      assert: {resource: {apiVersion: v1, metadata: {name: x}}}\n",
            r":22: spec\.checks\[0\]\.assert\.resource: .*kind is required")
    yield m("check-assert-resource-list", c0, "      assert: {resource: [a]}\n", r":22: spec\.checks\[0\]\.assert\.resource: ")
    yield m("check-absent-string", c0, "      absent: yes\n", r":22: spec\.checks\[0\]\.absent: ")
    yield m("check-http-no-service", c0, "      http: {path: /}\n", r":22: spec\.checks\[0\]\.http")
    yield m("check-http-port-text", 'service: "demo/app:8080"', 'service: "demo/app:port:x"',
            r":24: spec\.checks\[1\]\.http: port must be a number or a port name")
    yield m("check-http-status-text", "path: /readyz}", "path: /readyz, expect: {status: ok}}",
            r":24: spec\.checks\[1\]\.http\.expect\.status: ")
    yield m("check-http-body-regex", "path: /readyz}", "path: /readyz, expect: {body: '(unclosed'}}",
            r":24: spec\.checks\[1\]\.http\.expect\.body: not a valid regular expression")
    yield m("check-promql-op", c0, "      promql: {service: 'demo/p:9090', query: up, expect: {op: '=~', value: 1}}\n",
            r":22: spec\.checks\[0\]\.promql\.expect\.op: ")
    yield m("check-promql-no-query", c0, "      promql: {service: 'demo/p:9090', expect: {op: '>', value: 1}}\n",
            r":22: spec\.checks\[0\]\.promql\.query: ")
    yield m("check-job-no-image", c0, "      job: {namespace: demo, command: ['true']}\n", r":22: spec\.checks\[0\]\.job")
    yield m("check-logs-bad-regex", c0, "      logs: {namespace: demo, selector: {app: x}, pattern: '[z-a]'}\n",
            r":22: spec\.checks\[0\]\.logs\.pattern: not a valid regular expression")
    yield m("check-command-string", c0, "      command: {run: 'rm -rf /'}\n", r":22: spec\.checks\[0\]\.command\.run: ")
    yield m("check-command-empty", c0, "      command: {run: []}\n", r":22: spec\.checks\[0\]\.command\.run: ")
    yield m("check-unknown-type", c0, "      grpc: {service: x}\n", r":22: spec\.checks\[0\]\.grpc: unknown key \(a check needs exactly one of: ")
    # workflow, tutorial, metrics
    yield manifest("workflow-no-wait-for", GOOD + "  workflow: {namespace: demo, cluster: target, manifests: [manifests/app.yaml.j2]}\n",
                   r":25: spec\.workflow\.waitFor: required field is missing")
    yield manifest("workflow-undeclared-cluster", GOOD + "  workflow: {namespace: demo, manifests: [m.yaml], waitFor: j}\n",
                   r":\d+: spec: workflow: cluster loadgen is not declared")
    yield manifest("workflow-timeout-bad", GOOD + "  workflow: {namespace: demo, cluster: target, manifests: [m.yaml], waitFor: j, timeout: -1}\n",
                   r":25: spec\.workflow\.timeout: ")
    yield manifest("tutorial-checkpoint-no-checks", GOOD + "  tutorial: {checkpoints: [{name: one, title: One, instructions: x, checks: []}]}\n",
                   r":25: spec\.tutorial\.checkpoints\[0\]\.checks: ")
    yield manifest("tutorial-service-port-low", GOOD + "  tutorial: {services: [{name: ui, service: 'demo/app:8080', localPort: 80}]}\n",
                   r":25: spec\.tutorial\.services\[0\]\.localPort: ")
    yield manifest("metrics-no-service", GOOD + "  metrics: [{name: rps, query: up}]\n", r":25: spec\.metrics\[0\]\.service: ")
    yield manifest("spec-unknown-field", GOOD + "  extras: {}\n", r":25: spec\.extras: unknown field")
    yield render("manifest-escapes-folder", "manifest",
                 {MANIFEST: replace("manifests: [manifests/app.yaml.j2]", "manifests: [../../../etc/passwd]")},
                 r"(experiment\.yaml:19: '\.\./\.\./\.\./etc/passwd' points outside the experiment folder"
                 r"|etc/passwd: template not found: \.\./\.\./\.\./etc/passwd \(inside the experiment folder\))")
    yield m("check-command-stdout-regex", c0, "      command: {run: ['true'], stdout: '*'}\n",
            r":22: spec\.checks\[0\]\.command\.stdout: not a valid regular expression")
    # numbers and names that used to escape as a ValueError or render as a Python method
    yield m("param-default-5000-digits", "default: 1}", "default: " + "1" * 5000 + "}",
            r":\d+: an integer of 5000 characters, over the limit of 128")
    yield m("check-timeout-nan", c0, c0 + "      timeout: .nan\n", r":23: spec\.checks\[0\]\.timeout: .*finite")
    yield m("check-timeout-inf", c0, c0 + "      timeout: .inf\n", r":23: spec\.checks\[0\]\.timeout: .*finite")
    yield m("param-named-items", "    replicas: {type: integer", "    items: {type: string, default: x}\n"
            "    replicas: {type: integer", r":\d+: spec\.params: .*'items' is taken")
    yield m("param-named-keys", "    replicas: {type: integer", "    keys: {type: string, default: x}\n"
            "    replicas: {type: integer", r":\d+: spec\.params: .*'keys' is taken")


def yaml_cases() -> Iterator[Case]:
    head = {
        "manifest": "",
        "values": "replicas: 2\n",
        "config": "",
        "kubeconfig": "apiVersion: v1\nkind: Config\n",
    }
    for name, content, expect in hazards(head["manifest"]):
        yield render(f"manifest-{name}", "yaml", {MANIFEST: content}, r"experiment\.yaml" + expect)
    for name, content, expect in hazards(head["values"]):
        yield values(f"values-{name}", content, expect, group="yaml")
    for name, content, expect in hazards(head["config"]):
        yield config(f"config-{name}", content, expect, group="yaml")
    for name, content, expect in hazards(head["kubeconfig"]):
        yield kubeconfig(f"kubeconfig-{name}", content, expect, group="yaml")
    # what a template renders is YAML too
    for name, text, expect in [
        ("rendered-alias-bomb", alias_bomb(), r" \(rendered\):\d+: .*more than 100 aliases"),
        ("rendered-deep", "a: " + "[" * 100 + "]" * 100 + "\n", r" \(rendered\):\d+: .*nested deeper than 64"),
        ("rendered-huge", "a: {{ 'x' * 1100000 }}\n", r" \(rendered\): .*over the limit of 1048576 bytes"),
        ("rendered-duplicate-key", "apiVersion: v1\nkind: ConfigMap\nkind: Secret\n", r" \(rendered\):3: duplicate key 'kind'"),
        ("rendered-python-tag", "x: !!python/name:os.system\n", r" \(rendered\):1: invalid YAML: could not determine a constructor"),
        ("rendered-tab", "a:\n\t- b\n", r" \(rendered\):\d+: invalid YAML"),
        ("rendered-nul", "a: b\nc: {{ '\\x00' }}\n", r" \(rendered\):2: invalid YAML: control characters"),
    ]:
        yield template(name, text, expect, group="yaml")


def template_cases() -> Iterator[Case]:
    t = template
    yield t("undefined-param", APP.replace("params.replicas", "params.replicaz"), r":6: unknown param replicaz — did you mean replicas\?")
    yield t("undefined-top", "x: {{ nothing }}\n", r":1: undefined: 'nothing' is undefined")
    yield t("undefined-experiment-field", "x: {{ experiment.owner }}\n", r":1: undefined: .*owner")
    yield t("undefined-in-loop", "{% for i in params.nothing %}\n- {{ i }}\n{% endfor %}\n", r":1: unknown param nothing$")
    yield t("method-not-iterable", "{% for i in params.items %}\n- {{ i }}\n{% endfor %}\n", r":1: template failed: TypeError")
    yield t("syntax-unclosed-var", "x: {{ params.replicas\n", r":\d+: template syntax error")
    yield t("syntax-unclosed-block", "{% if true %}\nx: 1\n", r":\d+: template syntax error: .*endif")
    yield t("syntax-unknown-tag", "{% frobnicate %}\n", r":1: template syntax error: .*frobnicate")
    yield t("syntax-unknown-filter", "x: {{ params.replicas | nope }}\n", r":1: template syntax error: .*nope")
    yield t("unknown-test", "{% if params.replicas is nope %}{% endif %}\n", r":1: template failed: .*No test named 'nope'")
    yield t("syntax-bad-expression", "x: {{ 1 + }}\n", r":1: template syntax error")
    yield t("include-missing", "{% include 'missing.j2' %}\n", r":1: template not found: missing\.j2")
    yield t("include-absolute", "{% include '/etc/passwd' %}\n", r":1: template not found")
    yield t("include-parent", "{% include '../../../../../../etc/hostname' %}\n", r":1: template not found")
    yield t("extends-missing", "{% extends 'base.j2' %}\n", r":1: template not found: base\.j2")
    yield t("import-missing", "{% import 'macros.j2' as m %}\n", r":1: template not found: macros\.j2")
    yield t("zero-division", "x: {{ params.replicas // 0 }}\n", r":1: template failed: ZeroDivisionError")
    yield t("type-error", "x: {{ params.replicas + 'a' }}\n", r":1: template failed: TypeError")
    yield t("recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}x: {{ f(0) }}\n",
            r":\d+: template failed: RecursionError")
    yield t("range-overflow", "{% for i in range(10000000) %}{% endfor %}x: 1\n",
            r".*rendering exceeded range of 100000 items")
    yield t("format-attribute", "x: {{ '{0.__class__}'.format(params) }}\n", r":1: not allowed in a template")
    yield t("non-utf8", b"kind: ConfigMap\nx: \xc3\x28\n", r":2: not valid UTF-8")
    yield t("huge-template", "# " + "x" * (1024 * 1024 + 10) + "\n", r".*over the limit of 1048576 bytes")
    yield t("renders-scalar", "just text\n", r" \(rendered\):1: each YAML document must be a Kubernetes object")
    yield t("renders-no-kind", "apiVersion: v1\nmetadata: {name: x}\n", r" \(rendered\):1: object has no kind")
    yield t("renders-no-api-version", "kind: ConfigMap\nmetadata: {name: x}\n", r" \(rendered\):1: object has no apiVersion")
    yield t("renders-name-number", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 3}\n", r" \(rendered\):1: ConfigMap has no metadata\.name")
    yield t("renders-metadata-list", "apiVersion: v1\nkind: ConfigMap\nmetadata: [x]\n", r" \(rendered\):1: ConfigMap has no metadata\.name")
    yield t("renders-list-of-scalars", "apiVersion: v1\nkind: List\nitems: [a]\n", r" \(rendered\):3: each YAML document")
    yield render("template-is-a-directory", "template", {TEMPLATE + "/x": "a"}, r"app\.yaml\.j2")


def values_cases() -> Iterator[Case]:
    v = values
    yield v("not-mapping", "- replicas\n", r":1: a values file must be a mapping")
    yield v("scalar", "3\n", r":1: a values file must be a mapping")
    yield v("empty", "", r": expected one YAML document, found 0")
    yield v("two-docs", "replicas: 2\n---\nreplicas: 3\n", r": expected one YAML document, found 2")
    yield v("unknown-param", "replicas: 2\nreplicaz: 3\n", r":2: unknown param 'replicaz'")
    yield v("wrong-type", "replicas: many\n", r":1: param 'replicas' must be of type integer")
    yield v("bool-for-int", "image: x\nreplicas: true\n", r":2: param 'replicas' must be of type integer")
    yield v("null-param", "replicas: null\n", r":1: param 'replicas' has no default")
    yield v("list-for-string", "image: [a]\n", r":1: param 'image' must be of type string")
    yield v("secret-wrong-type", "token: [1, 2]\n", r":1: param 'token' must be of type string, got \*\*\*$")
    yield v("key-number", "1: x\n", r":1: unknown param '1'")
    yield Case("values-missing", "values", ("render", "demo", "--values", "{ws}/nope.yaml"),
               r"nope\.yaml: values file not found")
    yield Case("values-directory", "values", ("render", "demo", "--values", "{ws}/vdir"),
               r"vdir: values file is a directory", files={"vdir/x": "a"})
    yield Case("values-second-file-bad", "values",
               ("render", "demo", "--values", "{ws}/good.yaml", "--values", "{ws}/values.yaml"),
               r"values\.yaml:1: unknown param 'bogus'", files={"good.yaml": "replicas: 2\n", "values.yaml": "bogus: 1\n"})


def flag_cases() -> Iterator[Case]:
    f = flag
    yield f("set-no-equals", ("render", "demo", "--set", "replicas"), r"--set 'replicas': expected key=value")
    yield f("set-empty-key", ("render", "demo", "--set", "=3"), r"--set '=3': expected key=value")
    yield f("set-unknown", ("render", "demo", "--set", "replicaz=3"), r"--set replicaz: unknown param 'replicaz'")
    yield f("set-unknown-dotted", ("render", "demo", "--set", "a.b.c=1"), r"--set a\.b\.c: unknown param 'a'")
    yield f("set-int-text", ("render", "demo", "--set", "replicas=many"), r"--set replicas: param 'replicas' must be of type integer")
    yield f("set-5000-levels", ("render", "demo", "--set", "a" + ".a" * 5000 + "=1"), r"--set a\.a\.a.*: nested deeper than 64 levels")
    yield f("values-dev-zero", ("render", "demo", "--values", "/dev/zero"), r"/dev/zero: values file is a character device, not a regular file")
    yield f("kubeconfig-dev-zero", ("conduct", "demo", "--ci", "--kubeconfig", "/dev/zero"),
            r"/dev/zero: kubeconfig is a character device, not a regular file")
    yield f("set-int-float", ("render", "demo", "--set", "replicas=1.5"), r"--set replicas: param 'replicas' must be of type integer")
    yield f("set-int-bool", ("render", "demo", "--set", "replicas=true"), r"--set replicas: param 'replicas' must be of type integer")
    yield f("set-int-list", ("render", "demo", "--set", "replicas=[1]"), r"--set replicas: param 'replicas' must be of type integer")
    yield f("set-dotted-into-int", ("render", "demo", "--set", "replicas.x=1"), r"--set replicas\.x: param 'replicas' is a integer")
    yield f("set-dotted-into-string", ("render", "demo", "--set", "image.tag=1"), r"--set image\.tag: param 'image' is a string")
    yield f("set-null", ("render", "demo", "--set", "replicas=null"), r"--set replicas: param 'replicas' has no default")
    yield f("set-long-key", ("render", "demo", "--set", "k" * 5000 + "=1"), r"--set k+: unknown param")
    yield f("set-secret-wrong-type", ("render", "demo", "--set", "token.x=1"), r"--set token\.x: param 'token' is a string")
    yield f("set-missing-value", ("render", "demo", "--set"), r"(--set|Option '--set' requires an argument)")
    yield f("set-not-utf8", ("render", "demo", "--set", "image=caf\udce9"), r"--set 'image': the value is not valid UTF-8")
    yield f("experiment-not-utf8", ("render", "d\udcffmo"), r"unknown experiment 'd\\udcffmo'")
    yield f("values-missing-value", ("render", "demo", "--values"), r"Option '--values' requires an argument")
    yield f("unknown-option", ("render", "demo", "--frobnicate"), r"No such option: --frobnicate")
    yield f("unknown-command", ("frobnicate",), r"No such command 'frobnicate'")
    yield f("missing-argument", ("render",), r"Missing argument '(?i:experiment)'")
    yield f("output-xml", ("show", "demo", "-o", "xml"), r"'xml' is not one of|Invalid value for '--output'")
    yield f("unknown-experiment", ("render", "dmeo"), r"unknown experiment 'dmeo'.*did you mean demo")
    yield f("unknown-experiment-long", ("render", "x" * 5000), r"unknown experiment 'x+'")
    yield f("experiment-path", ("render", "../demo"), r"unknown experiment '\.\./demo'")
    yield f("experiments-dir-missing", ("--experiments-dir", "{ws}/nowhere", "list"), r"experiments directory .*nowhere.* not found")
    yield f("experiments-dir-file", ("--experiments-dir", "{ws}/file", "render", "demo"), r"experiments directory .*file.* not found",
            files={"file": "x"})
    yield f("check-timeout-text", ("conduct", "demo", "--dry-run", "--ci", "--check-timeout", "soon"), r"--check-timeout 'soon': expected a duration")
    yield f("check-timeout-zero", ("conduct", "demo", "--dry-run", "--ci", "--check-timeout", "0s"), r"--check-timeout '0s': a duration must be more than 0s")
    yield f("check-timeout-25h", ("conduct", "demo", "--dry-run", "--ci", "--check-timeout", "25h"), r"--check-timeout '25h': ")
    yield f("parallel-zero", ("conduct", "demo", "--dry-run", "--parallel", "0"), r"Invalid value for '--parallel'")
    yield f("parallel-17", ("conduct", "demo", "--dry-run", "--parallel", "17"), r"Invalid value for '--parallel'")
    yield f("parallel-text", ("conduct", "demo", "--dry-run", "--parallel", "x"), r"Invalid value for '--parallel'")
    yield f("events-dir-missing", ("conduct", "demo", "--dry-run", "--ci", "--events", "{ws}/no/such/dir/e.jsonl"),
            r"--events .*/no/such/dir/e\.jsonl: cannot write: No such file or directory")
    yield f("events-is-directory", ("conduct", "demo", "--dry-run", "--ci", "--events", "{ws}/edir"),
            r"--events .*edir: cannot write: Is a directory", files={"edir/x": "a"})
    yield f("junit-is-directory", ("conduct", "demo", "--dry-run", "--ci", "--junit", "{ws}/jdir"),
            r"--junit .*jdir: cannot write: Is a directory", files={"jdir/x": "a"})
    yield f("out-is-file", ("render", "demo", "--out", "{ws}/ofile"), r"--out .*ofile: cannot create the folder: File exists",
            files={"ofile": "x"})
    yield f("conduct-nothing", ("conduct", "--ci"), r"which experiment\?")
    yield f("conduct-names-and-all", ("conduct", "demo", "--all", "--ci"), r"name experiments or use --phase/--tag/--all, not both")
    yield f("conduct-no-match", ("conduct", "--tag", "nope", "--ci", "--dry-run"), r"no experiment matches the selection")
    yield f("instance-space", ("conduct", "demo", "--dry-run", "--ci", "--instance", "Bad Name"), r"--instance 'Bad Name': must be")
    yield f("instance-path", ("apply", "demo", "--instance", "../../x"), r"--instance '\.\./\.\./x': must be")
    yield f("instance-long", ("apply", "demo", "--instance", "a" * 80), r"--instance 'a+': must be")
    yield f("instance-several", ("conduct", "demo", "demo2", "--instance", "b", "--ci", "--dry-run"),
            r"unknown experiment 'demo2'|--instance names one deployed copy")
    yield f("run-traversal", ("down", "demo", "--run", "../../../etc/passwd"), r"--run '\.\./\.\./\.\./etc/passwd': not a run id")
    yield f("run-unknown", ("down", "demo", "--run", "20240101T000000Z-demo-abc"), r"no run '20240101T000000Z-demo-abc'")
    yield f("lint-kube-version", ("lint", "demo", "--kube-version", "0.1"), r"--kube-version 0\.1: no schemas for this version")
    yield f("new-bad-name", ("new", "Bad_Name"), r"Bad_Name")
    yield f("new-without-template", ("new", "other"), r"no template at .*_template")
    yield f("values-not-yaml-ext", ("render", "demo", "--values", "{ws}/values.json"), r"values\.json:1: a values file must be a mapping",
            files={"values.json": '"x"\n'})
    yield f("kubeconfig-missing", ("conduct", "demo", "--ci", "--kubeconfig", "{ws}/none"), r"kubeconfig .*none not found")
    yield f("kubeconfig-directory", ("conduct", "demo", "--ci", "--kubeconfig", "{ws}/kdir"), r"kdir: kubeconfig is a directory, expected a file",
            files={"kdir/x": "a"})
    yield f("context-unknown", ("conduct", "demo", "--ci", "--kubeconfig", "{ws}/kubeconfig", "--context", "nope"),
            r"kubeconfig .*kubeconfig: .*nope", files={"kubeconfig": kube_doc()})
    yield f("target-context-unknown", ("apply", "demo", "--kubeconfig", "{ws}/kubeconfig", "--target-context", "nope"),
            r"kubeconfig .*kubeconfig: .*nope", files={"kubeconfig": kube_doc()})


def hub_cases() -> Iterator[Case]:
    """`lab hub`: its flags, its platform manifest (validated like an experiment) and kubeconfigs."""
    platform = {"platform/hub/experiment.yaml": PLATFORM, "platform/hub/manifests/app.yaml.j2": APP}
    hub = ("hub", "bootstrap", "--platform", "{ws}/platform/hub", "--provider", "existing")
    yield flag("hub-platform-missing", ("hub", "bootstrap", "--platform", "{ws}/nowhere"),
               r"hub platform manifest .*nowhere/experiment\.yaml not found")
    yield flag("hub-provider-unknown", ("hub", "bootstrap", "--provider", "minikube"), r"Invalid value for '--provider'")
    yield flag("hub-destroy-no-tty", ("hub", "destroy"), r"pass --yes when not at a terminal")
    yield flag("hub-components-unknown", (*hub, "--components", "nope", "--kubeconfig", "{ws}/kubeconfig"),
               r"--components: unknown nope", files={**platform, "kubeconfig": kube_doc()})
    yield flag("hub-set-unknown", (*hub, "--set", "nope=1"), r"--set nope: unknown param 'nope'", files=platform)
    yield Case("hub-platform-component-not-hub", "manifest", hub, r"components must run on cluster hub",
               files={**platform, "platform/hub/experiment.yaml": PLATFORM.replace("cluster: hub", "cluster: target")
                      .replace("  clusters:\n", "  clusters:\n    target: {}\n")})
    yield Case("hub-platform-bad-field", "manifest", hub, r"platform/hub/experiment\.yaml:\d+: spec\.bogus: unknown field",
               files={**platform, "platform/hub/experiment.yaml": PLATFORM + "  bogus: 1\n"})
    yield Case("hub-platform-alias-bomb", "yaml", hub, r"platform/hub/experiment\.yaml(:\d+)?: .*more than 100 aliases",
               files={**platform, "platform/hub/experiment.yaml": alias_bomb()})
    yield Case("hub-kubeconfig-garbage", "kubeconfig", (*hub, "--kubeconfig", "{ws}/kubeconfig"),
               r"kubeconfig:\d+: kubeconfig: not valid UTF-8", files={**platform, "kubeconfig": garbage(3)})
    yield Case("hub-status-kubeconfig-garbage", "kubeconfig",
               ("hub", "status", "--platform", "{ws}/platform/hub", "--kubeconfig", "{ws}/kubeconfig"),
               r"kubeconfig:\d+: kubeconfig: not valid UTF-8", files={**platform, "kubeconfig": garbage(4)})
    yield Case("hub-unreachable", "kubeconfig", (*hub, "--kubeconfig", "{ws}/kubeconfig"),
               r"cannot reach the cluster at http://127\.0\.0\.1:9", exit=3, files={**platform, "kubeconfig": kube_doc()})


def config_cases() -> Iterator[Case]:
    c = config
    yield c("not-mapping", "- a\n", r":1: the lab config must be a mapping")
    yield c("scalar", "hello\n", r":1: the lab config must be a mapping")
    yield c("contexts-list", "contexts: [a]\n", r":1: contexts: ")
    yield c("contexts-role-unknown", "contexts: {edge: x}\n", r":1: contexts\.edge")
    yield c("context-list", "context: [a, b]\n", r":1: context: ")
    yield c("kubeconfig-mapping", "kubeconfig: {a: 1}\n", r":1: kubeconfig: ")
    yield c("unknown-field", "kubecontext: a\n", r":1: kubecontext: unknown field")
    yield c("provider-unknown", "provider: minikube\n", r":1: provider: ")
    yield c("two-docs", "context: a\n---\ncontext: b\n", r": expected one YAML document, found 2")


def kubeconfig_cases() -> Iterator[Case]:
    k = kubeconfig
    yield k("empty", "", r" is empty")
    yield k("scalar", "hello\n", r":1: kubeconfig: must be a mapping")
    yield k("list", "- a\n", r":1: kubeconfig: must be a mapping")
    yield k("no-current-context", kube_doc(current="''"), r": no current-context; pass --context \(its contexts: a\)")
    yield k("current-context-unknown", kube_doc(current="zzz"), r": current-context 'zzz' is unknown; its contexts: a")
    yield k("no-clusters", "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n",
            r":\d+: context 'a': cluster 'c' is not defined \(clusters: none\)")
    yield k("cluster-unknown", kube_doc(context="{cluster: other, user: u}"), r":\d+: context 'a': cluster 'other' is not defined \(clusters: c\)")
    yield k("server-missing", kube_doc().replace("{server: 'http://127.0.0.1:9'}", "{}"), r":\d+: context 'a': cluster 'c' has no server")
    yield k("server-not-url", kube_doc("ht tp://::::"), r".*cluster server 'ht tp://::::' is not an http\(s\) URL")
    yield k("server-ftp", kube_doc("ftp://127.0.0.1"), r".*cluster server 'ftp://127\.0\.0\.1' is not an http\(s\) URL")
    yield k("ca-data-not-base64", kube_doc("https://127.0.0.1:9", cluster=", certificate-authority-data: 'abc'"),
            r".*not valid base64")
    yield k("ca-file-missing", kube_doc("https://127.0.0.1:9", cluster=", certificate-authority: /nonexistent/ca.crt"),
            r":\d+: cluster 'c': certificate-authority: cannot read /nonexistent/ca\.crt: No such file")
    yield k("client-key-missing", kube_doc("https://127.0.0.1:9", user="{client-certificate: /nonexistent/c.crt, client-key: /nonexistent/c.key}"),
            r":\d+: user 'u': client-certificate: cannot read /nonexistent/c\.crt: No such file")
    yield k("token-file-missing", kube_doc(user="{tokenFile: /nonexistent/token}"),
            r":\d+: user 'u': tokenFile: cannot read /nonexistent/token: No such file")
    yield k("users-mapping", kube_doc().replace("users:\n- name: u\n  user: {token: t0k3n-xyz}\n", "users: {u: 1}\n"),
            r":\d+: users: must be a list of \{name, user\}")
    # a well-formed kubeconfig whose cluster does not answer: exit 3, the server named
    unreachable = r"(?<!kubeconfig).*cannot reach the cluster at https?://127\.0\.0\.1:9"
    yield Case("unreachable-refused", "kubeconfig", ("conduct", "demo", "--ci", "--kubeconfig", "{ws}/kubeconfig"),
               unreachable, exit=3, files={"kubeconfig": kube_doc("http://127.0.0.1:9")})
    yield Case("unreachable-tls", "kubeconfig", ("apply", "demo", "--kubeconfig", "{ws}/kubeconfig"),
               unreachable, exit=3,
               files={"kubeconfig": kube_doc("https://127.0.0.1:9", cluster=", insecure-skip-tls-verify: true")})


def all_cases() -> list[Case]:
    cases = [
        *manifest_cases(), *yaml_cases(), *template_cases(), *values_cases(), *flag_cases(),
        *config_cases(), *kubeconfig_cases(), *hub_cases(),
    ]
    ids = [c.id for c in cases]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, dupes
    return cases


# ---------------------------------------------------------------- running a case


def prepare(case: Case, workspace: Path) -> dict[str, str]:
    """Write the demo experiment and the case's files; return the environment to run lab in."""
    root = workspace / "experiments"
    write_experiment(root, "demo")
    for rel, content in case.files.items():
        path = workspace / rel
        for existing in (path, *path.parents):
            if existing.is_file():  # the case replaces a file by a folder, or vice versa
                existing.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return {
        "LAB_STATE_DIR": str(workspace / "state"),
        "LAB_CACHE_DIR": str(workspace / "cache"),
        "LAB_CONFIG": str(workspace / "config.yaml"),
        "KUBECONFIG": str(workspace / "default.kubeconfig"),
        "NO_COLOR": "1",
    }


def argv(case: Case, workspace: Path) -> list[str]:
    args = [a.replace("{ws}", str(workspace)) for a in case.args]
    if args[0] == "--experiments-dir":
        return args
    return ["--experiments-dir", str(workspace / "experiments"), *args]


def judge(case: Case, run: LabRun, *, lint: LabRun | None = None) -> list[str]:
    problems = []
    if run.crashed:
        problems.append(f"crashed: {run.exception or run.stderr[-500:]}")
    if run.exit_code != case.exit:
        problems.append(f"exit {run.exit_code}, expected {case.exit}: {run.stderr[-300:]}")
    pattern = re.compile(case.expect, re.M | re.S)
    errors = run.error_lines or [ln for ln in run.stderr.splitlines() if ln.startswith("Error: ")]
    if not errors:
        problems.append(f"no error line on stderr: {run.stderr[-300:]}")
    elif not any(pattern.search(line) for line in errors):
        problems.append(f"no error line matches {case.expect!r}: {errors}")
    if any(len(line) > 800 for line in errors):
        problems.append("an error line echoes a huge input")
    if SECRET in run.output:
        problems.append("the secret param's value was printed")
    if lint is not None:
        if lint.crashed or lint.exit_code != 1:
            problems.append(f"lint: exit {lint.exit_code}, expected 1: {lint.stderr[-300:]}")
        findings = lint.stderr.replace(": error: ", ": ")
        if not pattern.search(findings):
            problems.append(f"lint: no finding matches {case.expect!r}: {lint.stderr[-400:]}")
    return problems


def run_case(case: Case, workspace: Path) -> Outcome:
    env = prepare(case, workspace)
    run = run_lab(argv(case, workspace), env=env)
    lint = None
    if case.lint:
        lint = run_lab(["--experiments-dir", str(workspace / "experiments"), "lint", "demo"], env=env)
    return Outcome(case, run, judge(case, run, lint=lint), lint)


def error_prefix_ok(run: LabRun) -> bool:
    return all(line.startswith(ERROR_PREFIX) for line in run.error_lines)
