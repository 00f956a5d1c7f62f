"""Validation checks: what an experiment proves about the cluster it deployed.

Semantics follow Kyverno Chainsaw where it has them (partial object assertions, absent objects,
per-operation default timeouts, retry until the deadline). A check is written as one mapping with
a `name`, common settings, and exactly one key naming its type:

    - name: demo app answers
      http: {service: demo/hello:9898, path: /readyz, expect: {status: 200}}
      timeout: 60s

The type key is the discriminator, so an error points at `spec.checks[2].http.expect` rather than
listing every alternative of the union.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from illm_lab.model.base import DNS_LABEL, Duration, Strict

CHECK_TYPES = ("ready", "assert", "absent", "http", "promql", "job", "logs", "command", "access")

# Default deadline per check type, in seconds (Chainsaw uses 30 s for assertions).
DEFAULT_TIMEOUTS: dict[str, float] = {
    "ready": 300.0,
    "assert": 30.0,
    "absent": 30.0,
    "http": 60.0,
    "promql": 120.0,
    "job": 300.0,
    "logs": 60.0,
    "command": 30.0,
    "access": 30.0,
}

Role = Literal["hub", "target", "loadgen"]


class ObjectRef(Strict):
    """One object, or a set of objects chosen by labels."""

    api_version: str | None = Field(None, description="e.g. apps/v1; inferred for common kinds")
    kind: str
    name: str | None = None
    namespace: str | None = None
    selector: dict[str, str] | None = Field(None, description="label selector (equality)")

    @model_validator(mode="after")
    def _name_or_selector(self) -> ObjectRef:
        if self.name is None and self.selector is None:
            raise ValueError("give a name or a selector")
        return self


class ReadySpec(ObjectRef):
    """Workload readiness: rollout complete, Job complete, Pod ready, conditions True."""

    condition: str | None = Field(
        None, description="a status condition that must be True instead of the kind's default"
    )


class ResourceSpec(Strict):
    """A partial object tree (Chainsaw's `resource`)."""

    resource: dict[str, Any] = Field(
        description="partial object: apiVersion, kind and metadata.name or labels are required; "
        "every other field given must match; lists match when each expected item matches "
        "some actual item; string values like '(>= 2)' compare",
    )

    @field_validator("resource")
    @classmethod
    def _identity(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in ("apiVersion", "kind"):
            if not isinstance(value.get(key), str):
                raise ValueError(f"resource.{key} is required")
        meta = value.get("metadata")
        if not isinstance(meta, dict) or not (meta.get("name") or meta.get("labels")):
            raise ValueError("resource.metadata.name or resource.metadata.labels is required")
        return value


def _regex(value: str | None) -> str | None:
    """A regular expression field must compile when the manifest loads, not when the check runs."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class HttpExpect(Strict):
    status: int = Field(200, ge=100, le=599)
    body: str | None = Field(None, description="regular expression the body must match")
    json_path: dict[str, Any] | None = Field(
        None, alias="json", description="dotted path -> expected value in a JSON body"
    )

    _body = field_validator("body")(_regex)


class HttpSpec(Strict):
    service: str | None = Field(
        None, description="namespace/name:port of a Service, reached through the API server proxy"
    )
    url: str | None = Field(None, description="an absolute URL (loopback or a load balancer)")
    path: str = "/"
    method: Literal["GET", "POST", "PUT", "HEAD"] = "GET"
    via: Literal["proxy", "port-forward"] = "proxy"
    headers: dict[str, str] = Field(default_factory=dict)
    expect: HttpExpect = Field(default_factory=HttpExpect)

    @model_validator(mode="after")
    def _one_target(self) -> HttpSpec:
        if (self.service is None) == (self.url is None):
            raise ValueError("give exactly one of service or url")
        if self.service is not None:
            parse_service_ref(self.service)
        if not self.path.startswith("/"):
            raise ValueError("path must start with /")
        return self


class Comparison(Strict):
    op: Literal["==", "!=", ">", ">=", "<", "<="] = ">="
    value: float


class PromqlSpec(Strict):
    service: str = Field(description="namespace/name:port of the Prometheus-compatible API")
    query: str
    expect: Comparison = Field(default_factory=lambda: Comparison(op=">=", value=1))
    path_prefix: str = Field("", description="e.g. /select/0/prometheus for VictoriaMetrics")

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        parse_service_ref(value)
        return value


class JobSpec(Strict):
    """Run a Pod to completion and require exit code 0."""

    namespace: str
    image: str
    command: list[str] = Field(min_length=1)
    service_account: str | None = None


class LogsSpec(Strict):
    namespace: str
    selector: dict[str, str] | None = None
    pod: str | None = None
    container: str | None = None
    pattern: str = Field(description="regular expression one log line must match")
    tail_lines: int = Field(500, ge=1, le=100000)

    _pattern = field_validator("pattern")(_regex)

    @model_validator(mode="after")
    def _pod_or_selector(self) -> LogsSpec:
        if (self.pod is None) == (self.selector is None):
            raise ValueError("give exactly one of pod or selector")
        return self


class CommandSpec(Strict):
    """A local command, run without a shell; KUBECONFIG points at the check's cluster."""

    run: list[str] = Field(min_length=1)
    exit_code: int = 0
    stdout: str | None = Field(None, description="regular expression stdout must match")

    _stdout = field_validator("stdout")(_regex)


_VERB = r"^(\*|[a-z][a-zA-Z]*)$"
_RESOURCE = r"^(\*|[a-z0-9][a-z0-9-]*)(\.[a-z0-9.-]+)?(/[a-z0-9-]+)?$"


class AccessSpec(Strict):
    """Whether a subject may do something, as the cluster's authorizer answers it (a
    SubjectAccessReview, what `kubectl auth can-i --as` asks): RBAC proved by the API server
    itself, not by reading Roles."""

    service_account: str | None = Field(
        None, description="namespace/name of the ServiceAccount asking (its groups are included)"
    )
    user: str | None = Field(None, description="a user name, instead of a ServiceAccount")
    groups: list[str] = Field(default_factory=list, description="groups of the user")
    verb: str = Field(pattern=_VERB, description="get, list, watch, create, update, patch, delete, …")
    resource: str = Field(
        pattern=_RESOURCE,
        description="resource[.group][/subresource], as kubectl auth can-i takes it: pods, "
        "deployments.apps, pods/log",
    )
    namespace: str | None = Field(None, description="omit for cluster scope (or all namespaces)")
    name: str | None = Field(None, description="one object (for rules with resourceNames)")
    allowed: bool = Field(True, description="the answer expected: false proves a denial")

    @model_validator(mode="after")
    def _one_subject(self) -> AccessSpec:
        if (self.service_account is None) == (self.user is None):
            raise ValueError("give exactly one of serviceAccount or user")
        if self.service_account is not None:
            namespace, sep, name = self.service_account.partition("/")
            if not (sep and re.match(DNS_LABEL, namespace) and re.match(DNS_LABEL, name)):
                raise ValueError(f"serviceAccount: expected namespace/name, got {self.service_account!r:.80}")
        return self

    @property
    def subject(self) -> tuple[str, list[str]]:
        """(user, groups) as the API server authenticates the subject."""
        if self.service_account is None:
            assert self.user is not None
            return self.user, list(self.groups)
        namespace, _, name = self.service_account.partition("/")
        return (f"system:serviceaccount:{namespace}:{name}",
                ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"])

    @property
    def attributes(self) -> dict[str, str]:
        """The review's resourceAttributes: `deployments.apps/scale` → group apps, subresource scale."""
        resource, _, subresource = self.resource.partition("/")
        resource, _, group = resource.partition(".")
        found = {"verb": self.verb, "resource": resource, "group": group, "subresource": subresource,
                 "namespace": self.namespace or "", "name": self.name or ""}
        return {k: v for k, v in found.items() if v or k == "group"}


class CheckBase(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    cluster: Role = "target"
    timeout: Duration | None = Field(None, description="deadline; default depends on the type")
    interval: Duration = Field(2.0, description="pause between retries while the deadline lasts")


class ReadyCheck(CheckBase):
    ready: ReadySpec


class AssertCheck(CheckBase):
    assert_: ResourceSpec = Field(alias="assert")


class AbsentCheck(CheckBase):
    absent: ResourceSpec


class HttpCheck(CheckBase):
    http: HttpSpec


class PromqlCheck(CheckBase):
    promql: PromqlSpec


class JobCheck(CheckBase):
    job: JobSpec


class LogsCheck(CheckBase):
    logs: LogsSpec


class CommandCheck(CheckBase):
    command: CommandSpec


class AccessCheck(CheckBase):
    access: AccessSpec


def _check_type(value: Any) -> str | None:
    if isinstance(value, dict):
        present = [t for t in CHECK_TYPES if t in value]
        return present[0] if len(present) == 1 else None
    for t in CHECK_TYPES:
        attr = "assert_" if t == "assert" else t
        if hasattr(value, attr):
            return t
    return None


Check = Annotated[
    Annotated[ReadyCheck, Tag("ready")]
    | Annotated[AssertCheck, Tag("assert")]
    | Annotated[AbsentCheck, Tag("absent")]
    | Annotated[HttpCheck, Tag("http")]
    | Annotated[PromqlCheck, Tag("promql")]
    | Annotated[JobCheck, Tag("job")]
    | Annotated[LogsCheck, Tag("logs")]
    | Annotated[CommandCheck, Tag("command")]
    | Annotated[AccessCheck, Tag("access")],
    Discriminator(
        _check_type,
        custom_error_type="check_type",
        custom_error_message="a check needs exactly one of: " + ", ".join(CHECK_TYPES),
    ),
]

AnyCheck = (
    ReadyCheck | AssertCheck | AbsentCheck | HttpCheck | PromqlCheck | JobCheck | LogsCheck
    | CommandCheck | AccessCheck
)


def check_type(check: AnyCheck) -> str:
    kind = _check_type(check)
    assert kind is not None
    return kind


def effective_timeout(check: AnyCheck) -> float:
    return check.timeout if check.timeout is not None else DEFAULT_TIMEOUTS[check_type(check)]


def parse_service_ref(ref: str) -> tuple[str, str, str]:
    """`namespace/name:port` -> (namespace, name, port); port may be a number or a name."""
    namespace, sep, rest = ref.partition("/")
    name, colon, port = rest.partition(":")
    if not (sep and colon and namespace and name and port):
        raise ValueError(f"expected namespace/name:port, got {ref!r:.80}")
    if not re.match(DNS_LABEL, namespace) or not re.match(DNS_LABEL, name):
        raise ValueError(f"namespace and name must be DNS labels in {ref!r:.80}")
    if not (re.fullmatch(r"[0-9]{1,5}", port) or (len(port) <= 15 and re.match(DNS_LABEL, port))):
        raise ValueError(f"port must be a number or a port name in {ref!r:.80}")
    return namespace, name, port
