"""Rendering an experiment's templates into Helm values and Kubernetes objects, offline.

Templates are untrusted input (an experiment may come from anyone), so they run in Jinja2's
`ImmutableSandboxedEnvironment` with `StrictUndefined`: no Python internals, no mutation of the
context, no undefined name silently rendering as an empty string. They see only the params and
the experiment's metadata — never the process environment — and can include only files inside
their own experiment folder. Output is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from illm_lab.base import kinds
from illm_lab.base.errors import TemplateError
from illm_lab.base.sandbox import Limits, undefined_message
from illm_lab.base.sandbox import make_environment as make_environment
from illm_lab.base.yamlio import MAX_BYTES, PathKey, dump, dump_all, load_all
from illm_lab.catalog import Entry
from illm_lab.catalog.params import MASK
from illm_lab.model.experiment import Component, Experiment, ServiceEndpoint

LAB_LABEL_PREFIX = "lab.illm.io/"

RENDERED_MAX_BYTES = Limits().output
"""What one template's rendered output may hold as YAML: the sandbox already stops a render at
this size, so the stream is bounded before it is parsed and may carry thousands of objects; each
document of it stays within the limit of a file (`MAX_BYTES`)."""


@dataclass
class Hook:
    """A Helm hook object and what its annotations ask for (see charts/hooks.py)."""

    object: dict[str, Any]
    events: list[str]
    weight: int = 0
    delete_policies: list[str] = field(default_factory=lambda: ["before-hook-creation"])


@dataclass
class HookPhase:
    """Hooks of one weight, applied together and waited for (Jobs complete) before the next
    phase; phases run in ascending weight, before or after the component's main apply."""

    weight: int
    hooks: list[Hook]


@dataclass(frozen=True)
class ObjectSource:
    """Where a manifest object came from: its template and the line of each of its keys in the
    template's rendered output, so a finding about a field can name a line."""

    template: str  # path of the template, relative to the experiment folder
    rendered: str  # the template's whole rendered text
    lines: dict[tuple[str | int, ...], int]  # key path in the object -> line in `rendered`


@dataclass
class RenderedComponent:
    name: str
    cluster: str
    namespace: str | None
    source: str  # "manifests" | "helm"
    objects: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] | None = None
    depends_on: list[str] = field(default_factory=list)
    # Filled for helm components by charts.render_charts(); empty until then.
    hooks_before: list[HookPhase] = field(default_factory=list)
    hooks_after: list[HookPhase] = field(default_factory=list)
    chart: str | None = None  # what was rendered, e.g. "labdemo 0.1.0 (sha256:1a2b3c4d5e6f)"
    # For manifest components: the source of objects[i] (same order; only lint reads it).
    sources: list[ObjectSource] = field(default_factory=list)


@dataclass
class Rendering:
    """Everything an experiment deploys, per cluster role, before any cluster is touched."""

    experiment: Experiment
    params: dict[str, Any]
    namespaces: dict[str, list[dict[str, Any]]]  # cluster role -> Namespace objects
    components: list[RenderedComponent]
    workflow: RenderedComponent | None = None
    folder: Path | None = None  # the experiment folder, where local charts are found
    # Tutorial checkpoint name -> its solution's objects (applied only by non-interactive runs).
    solutions: dict[str, RenderedComponent] = field(default_factory=dict)

    def objects(self, cluster: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for role, nss in sorted(self.namespaces.items()):
            if cluster is None or role == cluster:
                out.extend(nss)
        for comp in self.components:
            if cluster is None or comp.cluster == cluster:
                out.extend(comp.objects)
        return out


def context(experiment: Experiment, params: dict[str, Any]) -> dict[str, Any]:
    meta = experiment.metadata
    return {
        "params": params,
        "experiment": {
            "name": meta.name, "title": meta.title, "phase": meta.phase, "type": meta.type,
            "tags": list(meta.tags),
        },
    }


def instructions_context(
    experiment: Experiment, params: dict[str, Any], endpoints: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """What a tutorial checkpoint's instructions see: params, experiment and the endpoints the
    session opened (`endpoints.<name>.url`, `.base`, `.host`, `.port`, `.via`) — never credentials."""
    return {**context(experiment, params), "endpoints": endpoints}


def endpoint_view(service: ServiceEndpoint, host: str, port: int, via: str) -> dict[str, Any]:
    """One endpoint as instructions see it."""
    base = f"{service.scheme}://{host}:{port}"
    return {
        "name": service.name, "service": service.service, "host": host, "port": port,
        "base": base, "url": base + service.path, "path": service.path, "via": via,
    }


def render_template(env: ImmutableSandboxedEnvironment, name: str, ctx: dict[str, Any]) -> str:
    """Render one template file, turning every template failure into a TemplateError with a line."""
    folder = Path(getattr(env.loader, "root", "."))
    display = str(folder / name)
    try:
        return env.get_template(name).render(ctx)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or display}:{exc.lineno}"
        raise TemplateError(f"template syntax error: {exc.message}", where=where) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}", where=_where(exc, display)) from None
    except jinja2.UndefinedError as exc:
        message = undefined_message(exc, ctx, _source(env, name))
        raise TemplateError(message, where=_where(exc, display)) from None
    except SecurityError as exc:
        raise TemplateError(f"not allowed in a template: {exc}", where=_where(exc, display)) from None
    except TemplateError:
        raise
    except Exception as exc:  # any other failure inside template code is bad input, not a crash
        msg = f"{type(exc).__name__}: {str(exc)[:200]}"
        raise TemplateError(f"template failed: {msg}", where=_where(exc, display)) from None


def _source(env: ImmutableSandboxedEnvironment, name: str) -> str | None:
    try:
        return env.loader.get_source(env, name)[0] if env.loader else None
    except jinja2.TemplateNotFound:
        return None


def render_text(
    env: ImmutableSandboxedEnvironment, text: str, ctx: dict[str, Any], *, where: str
) -> str:
    """Render a template given as text (a tutorial checkpoint's instructions), with the same
    sandbox and error handling as template files; `where` names it in errors."""
    try:
        return env.from_string(text).render(ctx)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", where=where) from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(undefined_message(exc, ctx, text), where=where) from None
    except SecurityError as exc:
        raise TemplateError(f"not allowed in a template: {exc}", where=where) from None
    except TemplateError:
        raise
    except Exception as exc:  # any other failure inside template code is bad input, not a crash
        raise TemplateError(f"template failed: {type(exc).__name__}: {str(exc)[:200]}", where=where) from None


def _where(exc: BaseException, fallback: str) -> str:
    """The template file and line a Jinja2 error came from (Jinja rewrites the traceback so)."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.endswith((".j2", ".yaml", ".yml", ".md", ".tpl")) and f.lineno
    ]
    if frames:
        return f"{frames[-1].filename}:{frames[-1].lineno}"
    return fallback


def render(entry: Entry, params: dict[str, Any]) -> Rendering:
    """Render every component of `entry` with `params` (already resolved)."""
    experiment = entry.experiment
    env = make_environment(entry.folder)
    ctx = context(experiment, params)
    components: list[RenderedComponent] = []
    for comp in experiment.spec.components:
        components.append(render_component(entry, env, comp, ctx))
    assign_namespaces(components)
    return Rendering(
        experiment=experiment,
        params=params,
        namespaces=namespace_objects(experiment),
        components=components,
        workflow=render_workflow(entry, env, ctx),
        folder=entry.folder,
        solutions=render_solutions(entry, env, ctx),
    )


def solution_component(checkpoint: str) -> str:
    """The inventory component of a checkpoint's solution objects."""
    return f"solution-{checkpoint}"[:53].rstrip("-")


def render_solutions(
    entry: Entry, env: ImmutableSandboxedEnvironment, ctx: dict[str, Any]
) -> dict[str, RenderedComponent]:
    """Each tutorial checkpoint's solution objects, in the target namespaces they name (a
    namespaced object without a namespace goes to `default`, as with kubectl)."""
    tutorial = entry.experiment.spec.tutorial
    out: dict[str, RenderedComponent] = {}
    for cp in tutorial.checkpoints if tutorial else []:
        if cp.solution:
            roles = {c.cluster for c in cp.checks}
            comp = Component(
                name=solution_component(cp.name), cluster=sorted(roles)[0], manifests=cp.solution
            )
            out[cp.name] = render_component(entry, env, comp, ctx)
    return out


def render_workflow(
    entry: Entry, env: ImmutableSandboxedEnvironment, ctx: dict[str, Any]
) -> RenderedComponent | None:
    """The load workflow's objects, applied after the checks pass."""
    wf = entry.experiment.spec.workflow
    if wf is None:
        return None
    comp = Component(name="workflow", cluster=wf.cluster, namespace=wf.namespace,
                     manifests=wf.manifests)
    rendered = render_component(entry, env, comp, ctx)
    assign_namespaces([rendered])
    return rendered


def assign_namespaces(components: list[RenderedComponent]) -> None:
    """Give namespaced objects without a namespace their component's namespace."""
    crds = kinds.crd_scopes([o for c in components for o in c.objects])
    for comp in components:
        if comp.namespace:
            for obj in comp.objects:
                meta = obj["metadata"]
                if not meta.get("namespace") and kinds.is_namespaced(obj, crds) is not False:
                    obj["metadata"] = {"name": meta["name"], "namespace": comp.namespace, **meta}


def render_component(
    entry: Entry, env: ImmutableSandboxedEnvironment, comp: Component, ctx: dict[str, Any]
) -> RenderedComponent:
    out = RenderedComponent(
        name=comp.name, cluster=comp.cluster, namespace=comp.namespace,
        source="helm" if comp.helm else "manifests", depends_on=list(comp.depends_on),
    )
    if comp.helm is not None:
        if comp.helm.values:
            text = render_template(env, comp.helm.values, ctx)
            docs = load_all(text, source=f"{entry.folder / comp.helm.values} (rendered)")
            values = docs[0].data if docs else {}
            if len(docs) > 1 or not isinstance(values, dict):
                raise TemplateError(
                    "a values template must render to one mapping",
                    where=str(entry.folder / comp.helm.values),
                )
            out.values = values
        else:
            out.values = {}
        return out
    for name in comp.manifests or []:
        source = f"{entry.folder / name} (rendered)"
        text = render_template(env, name, ctx)
        docs = load_all(text, source=source, max_bytes=RENDERED_MAX_BYTES, max_document_bytes=MAX_BYTES)
        for doc in docs:
            objects = _expand_lists(doc.data)
            lines = _lines_by_object(doc.lines, [prefix for prefix, _obj in objects])
            for (prefix, obj), obj_lines in zip(objects, lines, strict=True):
                _require_identity(obj, f"{source}:{doc.line_of(prefix) or 1}")
                out.objects.append(obj)
                out.sources.append(ObjectSource(template=name, rendered=text, lines=obj_lines))
    return out


def _lines_by_object(lines: dict[PathKey, int], prefixes: list[PathKey]) -> list[dict[PathKey, int]]:
    """The lines of each object of a document, keyed by path in the object, in one pass over
    the document's lines however many items a List has (a pass per item made a List quadratic)."""
    size = len(prefixes[0]) if prefixes else 0  # the objects of one document: all at one depth
    by_prefix: dict[PathKey, dict[PathKey, int]] = {prefix: {} for prefix in prefixes}
    for path, line in lines.items():
        own = by_prefix.get(path[:size])
        if own is not None:
            own[path[size:]] = line
    return [by_prefix[prefix] for prefix in prefixes]


def _expand_lists(data: Any) -> list[tuple[tuple[str | int, ...], Any]]:
    """(key path of the object in its document, object): a List's items, or the document."""
    if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
        return [(("items", i), item) for i, item in enumerate(data["items"])]
    return [((), data)]


def _require_identity(obj: Any, where: str) -> None:
    if not isinstance(obj, dict):
        raise TemplateError("each YAML document must be a Kubernetes object (a mapping)", where=where)
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise TemplateError(f"object has no {key}", where=where)
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise TemplateError(f"{obj['kind']} has no metadata.name", where=where)


# Namespaces every cluster has: lab deploys into them but never owns (applies or deletes) them.
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def namespace_objects(experiment: Experiment) -> dict[str, list[dict[str, Any]]]:
    """Namespace objects per cluster role: declared ones with their Pod Security labels, plus
    every namespace a component deploys into — except the system namespaces, which lab must
    never take ownership of (teardown would delete them)."""
    spec = experiment.spec
    wanted: dict[str, set[str]] = {}
    for comp in spec.components:
        if comp.namespace:
            wanted.setdefault(comp.cluster, set()).add(comp.namespace)
    used = {ns for nss in wanted.values() for ns in nss}
    for ns in spec.namespaces:
        if ns not in used:
            wanted.setdefault("target", set()).add(ns)
    if spec.workflow:
        wanted.setdefault(spec.workflow.cluster, set()).add(spec.workflow.namespace)
    out: dict[str, list[dict[str, Any]]] = {}
    for role, names in sorted(wanted.items()):
        objs = []
        for name in sorted(names - SYSTEM_NAMESPACES):
            decl = spec.namespaces.get(name)
            labels: dict[str, str] = dict(decl.labels) if decl else {}
            if decl and decl.pod_security:
                for mode in ("enforce", "audit", "warn"):
                    labels[f"pod-security.kubernetes.io/{mode}"] = decl.pod_security
            meta: dict[str, Any] = {"name": name}
            if labels:
                meta["labels"] = labels
            if decl and decl.annotations:
                meta["annotations"] = dict(decl.annotations)
            objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
        out[role] = objs
    return out


def mask_secrets(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj` with the values of a Secret's data and stringData replaced by a mask;
    a List (or any `<Kind>List`) is masked item by item, however deeply Lists are nested."""
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        items = [mask_secrets(i) if isinstance(i, dict) else i for i in obj["items"]]
        return {**obj, "items": items}
    if kind not in kinds.SECRET_KINDS:
        return obj
    out = dict(obj)
    for key in ("data", "stringData"):
        if isinstance(obj.get(key), dict):
            out[key] = {k: MASK for k in obj[key]}
    return out


def to_yaml_stream(rendering: Rendering, *, show_secrets: bool = False) -> str:
    objs = rendering.objects()
    if not show_secrets:
        objs = [mask_secrets(o) for o in objs]
    return dump_all(objs) if objs else ""


def values_yaml(values: dict[str, Any]) -> str:
    return dump(values)
