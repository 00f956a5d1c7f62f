"""The experiment manifest, `experiments/<name>/experiment.yaml`, version lab.illm.io/v1alpha1.

The manifest is data only: these models do no I/O (file existence is checked by the catalog and
lint). `apiVersion` is versioned so the format can evolve: a later version gets its own models and
a conversion, never a silent reinterpretation (see adrs/0006-manifest-versioning.md).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from illm_lab.model.base import DNS_LABEL, Duration, Strict
from illm_lab.model.checks import Check, CommandCheck, Role, parse_service_ref
from illm_lab.model.phases import phase_matches

API_VERSION = "lab.illm.io/v1alpha1"

APPENDICES = "ABCDEFGHIJKLMNOPQRS"
PHASE_PATTERN = r"^([1-9](\.[0-9]+)?|[A-S])$"

ExperimentType = Literal["tutorial", "comparison", "benchmark", "demo"]
Provider = Literal["default", "talos", "talos-metal", "kind", "existing"]
SizeName = Literal["small", "medium", "large"]
PodSecurity = Literal["privileged", "baseline", "restricted"]
ParamType = Literal["string", "integer", "number", "boolean", "object", "array"]

_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_PYTYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


# Names templates cannot reach as `params.<name>`: `params.items` is the dict's own method (and
# `params.__class__` its class), never a param called `items`.
RESERVED_PARAM_NAMES = frozenset(dir(dict))


def param_type_ok(kind: str, value: Any) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _PYTYPES[kind])


class Metadata(Strict):
    name: str = Field(pattern=DNS_LABEL, max_length=63, description="= the folder name")
    title: str = Field(min_length=1, max_length=120)
    description: str | None = None
    phase: str = Field(
        pattern=PHASE_PATTERN,
        description='a core phase "1".."9", a section like "3.1", or an appendix letter A..S',
    )
    type: ExperimentType
    tags: list[str] = Field(default_factory=list)

    @field_validator("phase", mode="before")
    @classmethod
    def _phase_as_text(cls, value: Any) -> Any:
        # YAML reads `phase: 3.1` as a float and `phase: 3` as an int; accept both.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not re.match(DNS_LABEL, tag):
                raise ValueError(f"tag {tag!r:.40} must be lowercase letters, digits and '-'")
        return value


class Param(Strict):
    type: ParamType = "string"
    default: Any = None
    description: str | None = None
    secret: bool = Field(False, description="never printed, recorded or reported")
    enum: list[Any] | None = None

    @model_validator(mode="after")
    def _default_matches(self) -> Param:
        if self.default is not None and not param_type_ok(self.type, self.default):
            raise ValueError(f"default {self.default!r:.40} is not of type {self.type}")
        if self.enum is not None and self.default is not None and self.default not in self.enum:
            raise ValueError("default is not one of enum")
        return self


class ClusterSpec(Strict):
    provider: Provider = "default"
    size: SizeName = "small"
    context: str | None = Field(None, description="kubeconfig context, for provider existing")


class NamespaceSpec(Strict):
    pod_security: PodSecurity | None = Field(
        None, description="Pod Security admission level enforced in the namespace"
    )
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ObjectPattern(Strict):
    """Rendered objects to leave out: a kind and a name glob (`*.gateway.networking.k8s.io`)."""

    kind: str = Field(min_length=1)
    name: str = Field("*", min_length=1, description="shell-style glob of metadata.name")


class HelmChart(Strict):
    """A chart from a classic repository, an OCI registry, or a folder inside the repo."""

    repo: str | None = Field(None, description="https:// URL of a classic chart repository")
    oci: str | None = Field(None, description="oci://registry/path/chart")
    path: str | None = Field(None, description="chart folder, relative to the experiment")
    chart: str | None = Field(None, description="chart name in the repository")
    version: str | None = Field(None, description="exact version; ranges are refused")
    values: str | None = Field(None, description="Jinja2 values template, relative path")
    release_name: str | None = Field(None, pattern=DNS_LABEL)
    exclude: list[ObjectPattern] = Field(
        default_factory=list,
        description="objects of the chart not to apply, e.g. CRDs another component owns "
        "(two charts that both ship the Gateway API CRDs)",
    )

    @model_validator(mode="after")
    def _reference(self) -> HelmChart:
        given = [k for k in ("repo", "oci", "path") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of repo, oci or path")
        if self.repo is not None:
            if not self.repo.startswith(("https://", "http://")):
                raise ValueError("repo must be an http(s) URL")
            if not self.chart:
                raise ValueError("chart is required with repo")
        if self.oci is not None and not self.oci.startswith("oci://"):
            raise ValueError("oci must start with oci://")
        if self.path is None:
            if not self.version:
                raise ValueError("version is required (an exact version, e.g. 1.2.3)")
            if not _SEMVER.match(self.version):
                raise ValueError(f"version {self.version!r:.40} must be exact, not a range")
        return self


class Component(Strict):
    name: str = Field(pattern=DNS_LABEL, max_length=53)
    cluster: Role = "target"
    namespace: str | None = Field(None, pattern=DNS_LABEL, max_length=63)
    helm: HelmChart | None = None
    manifests: list[str] | None = Field(None, min_length=1)
    depends_on: list[str] = Field(default_factory=list)
    wait: bool = Field(True, description="wait for the component's workloads to be ready")
    timeout: Duration = 300.0

    @model_validator(mode="after")
    def _one_source(self) -> Component:
        if (self.helm is None) == (self.manifests is None):
            raise ValueError("give exactly one of helm or manifests")
        if self.helm is not None and self.namespace is None:
            raise ValueError("namespace is required for a helm component")
        return self


ENDPOINT_NAME = r"^[a-z][a-z0-9_]*$"  # usable as `endpoints.<name>` in instruction templates
_SECRET_KEY_REF = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)#([-._a-zA-Z0-9]+)$"
)


def parse_secret_key_ref(ref: str) -> tuple[str, str, str]:
    """`namespace/secret#key` -> (namespace, secret, key)."""
    match = _SECRET_KEY_REF.match(ref)
    if not match:
        raise ValueError(f"expected namespace/secret#key, got {ref!r:.80}")
    return match.group(1), match.group(3), match.group(5)


class ServiceEndpoint(Strict):
    """A Service the tutorial session exposes to the learner: its load balancer address when the
    cluster gives it one, otherwise a port-forward on 127.0.0.1 that the session owns."""

    name: str = Field(pattern=ENDPOINT_NAME, description="referenced as {{ endpoints.<name>.url }}")
    service: str = Field(description="namespace/name:port (port number or name)")
    cluster: Role = "target"
    local_port: int | None = Field(
        None, ge=1024, le=65535,
        description="preferred local port of the port-forward (any free one when it is taken)",
    )
    scheme: Literal["http", "https"] = "http"
    path: str = Field("/", description="path the learner should open")
    description: str | None = None
    credentials: dict[str, str] | None = Field(
        None,
        description="label -> namespace/secret#key: read from the cluster's Secret when the session "
        "starts and shown to the learner only (never logged, recorded or reported)",
    )

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        parse_service_ref(value)
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("path must start with /")
        return value

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for ref in (value or {}).values():
            parse_secret_key_ref(ref)
        return value


class Checkpoint(Strict):
    """One step of a tutorial: what to do, and the checks that prove the learner did it."""

    name: str = Field(pattern=DNS_LABEL, max_length=63)
    title: str = Field(min_length=1, max_length=120)
    instructions: str = Field(
        min_length=1,
        description="markdown, a Jinja template: {{ params.x }}, {{ endpoints.<name>.url }}",
    )
    hint: str | None = Field(None, description="markdown shown when the learner asks for a hint")
    checks: list[Check] = Field(min_length=1)
    solution: list[str] | None = Field(
        None,
        min_length=1,
        description="manifest templates (relative paths) doing what the learner is asked to do; "
        "applied by lab before the checks in non-interactive runs, so CI proves the tutorial "
        "can be completed",
    )


class Tutorial(Strict):
    guide: str = Field(
        "README.md", description="markdown guide, relative path, shown when the session starts"
    )
    services: list[ServiceEndpoint] = Field(default_factory=list)
    checkpoints: list[Checkpoint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Tutorial:
        for what, names in (
            ("checkpoint", [c.name for c in self.checkpoints]),
            ("service", [s.name for s in self.services]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {what} names: {', '.join(dupes)}")
        return self


class Workflow(Strict):
    """Load generation: manifests (a k6 Job, an Argo Workflow) run on a cluster to completion."""

    cluster: Role = "loadgen"
    namespace: str = Field(pattern=DNS_LABEL, max_length=63)
    manifests: list[str] = Field(min_length=1)
    wait_for: str = Field(description="Job name that must complete")
    timeout: Duration = 600.0


class Metric(Strict):
    """A PromQL figure a comparison experiment reports side by side."""

    name: str
    query: str
    unit: str | None = None
    service: str = Field(description="namespace/name:port of the Prometheus API to query")


def _default_clusters() -> dict[Role, ClusterSpec]:
    return {"target": ClusterSpec()}


class Spec(Strict):
    params: dict[str, Param] = Field(default_factory=dict)
    clusters: dict[Role, ClusterSpec] = Field(default_factory=_default_clusters)
    namespaces: dict[str, NamespaceSpec] = Field(default_factory=dict)
    components: list[Component] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    tutorial: Tutorial | None = None
    workflow: Workflow | None = None
    metrics: list[Metric] = Field(default_factory=list)

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, Param]) -> dict[str, Param]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"param name {name!r:.40} must be an identifier")
            if name in RESERVED_PARAM_NAMES:
                raise ValueError(
                    f"param name {name!r} is taken: templates read params as `params.<name>`, and "
                    f"`params.{name}` is the params mapping's own {name!r} attribute, not the "
                    "value; choose another name"
                )
        return value

    @field_validator("namespaces")
    @classmethod
    def _namespace_names(cls, value: dict[str, NamespaceSpec]) -> dict[str, NamespaceSpec]:
        for name in value:
            if len(name) > 63 or not re.match(DNS_LABEL, name):
                raise ValueError(f"namespace {name!r:.40} must be a DNS label (at most 63 characters)")
        return value

    @model_validator(mode="after")
    def _references(self) -> Spec:
        names = [c.name for c in self.components]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate component names: {', '.join(dupes)}")
        for comp in self.components:
            for dep in comp.depends_on:
                if dep not in names:
                    raise ValueError(f"component {comp.name}: dependsOn {dep!r:.40} is unknown")
            if comp.cluster not in self.clusters:
                raise ValueError(f"component {comp.name}: cluster {comp.cluster} is not declared")
        _no_cycles({c.name: c.depends_on for c in self.components})
        checks = list(self.checks)
        if self.tutorial:
            for cp in self.tutorial.checkpoints:
                checks.extend(cp.checks)
        for check in checks:
            if check.cluster not in self.clusters:
                raise ValueError(f"check {check.name!r:.60}: cluster {check.cluster} is not declared")
        for endpoint in self.tutorial.services if self.tutorial else []:
            if endpoint.cluster not in self.clusters:
                raise ValueError(
                    f"tutorial service {endpoint.name}: cluster {endpoint.cluster} is not declared"
                )
        if self.workflow and self.workflow.cluster not in self.clusters:
            raise ValueError(f"workflow: cluster {self.workflow.cluster} is not declared")
        return self


def _no_cycles(graph: dict[str, list[str]]) -> None:
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = " -> ".join([*trail[trail.index(node) :], node])
            raise ValueError(f"dependsOn cycle: {cycle}")
        state[node] = 1
        for dep in graph.get(node, []):
            visit(dep, [*trail, node])
        state[node] = 2

    for node in graph:
        visit(node, [])


class Experiment(Strict):
    api_version: Literal["lab.illm.io/v1alpha1"]
    kind: Literal["Experiment"]
    metadata: Metadata
    spec: Spec = Field(default_factory=Spec)

    @property
    def name(self) -> str:
        return self.metadata.name

    def commands(self) -> list[tuple[str, list[str], tuple[str | int, ...]]]:
        """(check name, argv, manifest path) of every `command` check, checkpoints included:
        the local programs a conduct or validate of this experiment would run."""
        located: list[tuple[tuple[str | int, ...], Any]] = [
            (("spec", "checks", i), c) for i, c in enumerate(self.spec.checks)]
        for i, cp in enumerate(self.spec.tutorial.checkpoints if self.spec.tutorial else []):
            located += [(("spec", "tutorial", "checkpoints", i, "checks", j), c)
                        for j, c in enumerate(cp.checks)]
        return [(c.name, list(c.command.run), path) for path, c in located if isinstance(c, CommandCheck)]

    def all_checks(self) -> list[Any]:
        checks: list[Any] = list(self.spec.checks)
        if self.spec.tutorial:
            for cp in self.spec.tutorial.checkpoints:
                checks.extend(cp.checks)
        return checks

    def matches_phase(self, phase: str) -> bool:
        """`--phase 3` matches 3 and 3.x; `--phase 3.1` matches only 3.1; letters match exactly."""
        return phase_matches(self.metadata.phase, phase)
