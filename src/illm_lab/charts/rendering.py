"""Rendering an experiment's Helm components into objects the engine applies.

`render.render()` leaves a helm component with its Jinja-rendered values and no objects;
`render_charts()` fills in the objects by running `helm template` on the cached chart, so from
then on the engine treats charts and plain manifests alike (adrs/0003). The Kubernetes version
and API versions come from the caller: the engine asks the target cluster's discovery, lint
passes its `--kube-version`; without them helm assumes its own defaults, which can change what a
chart renders (`.Capabilities`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from illm_lab.base import kinds
from illm_lab.base.errors import InputError, ToolError
from illm_lab.base.yamlio import dump
from illm_lab.charts import hooks, stream
from illm_lab.charts.cache import ChartCache
from illm_lab.charts.reference import ChartRef
from illm_lab.model.experiment import HelmChart
from illm_lab.rendering.render import RenderedComponent, Rendering
from illm_lab.tools import helm
from illm_lab.tools.run import ToolFailed


@dataclass(frozen=True)
class ChartSource:
    """Where helm finds one component's chart, and how to name it to a user."""

    path: Path  # a chart folder or a .tgz archive
    label: str  # "labdemo 0.1.0" or "charts/labdemo (local)"
    ref: ChartRef | None = None  # None for a local chart
    digest: str | None = None
    pulled: bool = False

    @property
    def description(self) -> str:
        short = self.digest.removeprefix("sha256:")[:12] if self.digest else None
        return f"{self.label} (sha256:{short})" if short else self.label


def locate(spec: HelmChart, folder: Path | None, *, cache: ChartCache, offline: bool = False,
           timeout: float = helm.PULL_TIMEOUT) -> ChartSource:
    """The chart of `spec`: a local folder inside the experiment, or the cached archive of a
    pinned reference (pulled first unless `offline`; ChartNotCached when offline and missing)."""
    ref = ChartRef.of(spec)
    if ref is None:
        return _local(spec, folder)
    entry, pulled = cache.fetch(ref, offline=offline, timeout=timeout)
    return ChartSource(path=entry.path, label=f"{ref.chart} {ref.version}", ref=ref,
                       digest=entry.digest, pulled=pulled)


def _local(spec: HelmChart, folder: Path | None) -> ChartSource:
    rel = spec.path or ""
    if folder is None:
        raise InputError(f"local chart {rel!r}: the experiment folder is unknown")
    root = folder.resolve()
    target = (root / rel).resolve()
    if not target.is_relative_to(root):
        raise InputError(f"local chart {rel!r} points outside the experiment folder", where=str(folder))
    if not (target / "Chart.yaml").is_file() and not (target.is_file() and target.suffix == ".tgz"):
        raise InputError(f"local chart {rel!r}: no Chart.yaml there (nor a .tgz archive)",
                         where=str(folder))
    return ChartSource(path=target, label=f"{rel} (local)")


def secret_values(rendering: Rendering) -> list[str]:
    """Values of params marked secret: masked in any helm error we show."""
    declared = rendering.experiment.spec.params
    return [str(rendering.params[n]) for n, p in declared.items()
            if p.secret and rendering.params.get(n) not in (None, "")]


def render_chart(
    comp: RenderedComponent,
    spec: HelmChart,
    source: ChartSource,
    *,
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    secrets: Sequence[str] = (),
    timeout: float = helm.TEMPLATE_TIMEOUT,
) -> None:
    """Run `helm template` for one component and fill its objects and hook phases in place."""
    if comp.namespace is None:
        raise InputError(f"component {comp.name}: a helm component needs a namespace")
    try:
        output = helm.template(
            source.path,
            release=spec.release_name or comp.name,
            namespace=comp.namespace,
            values=dump(comp.values or {}),
            kube_version=kube_version,
            api_versions=api_versions,
            secrets=secrets,
            timeout=timeout,
        )
    except ToolFailed as exc:
        # The reason first, on one line; the 3,000-character command line only with -v.
        raise ToolError(f"component {comp.name}: chart {source.label}: {_reason(exc.reason)}",
                        detail=exc.message) from None
    objects = [o for o in stream.parse(output, chart=source.label) if not _excluded(o, spec)]
    main, before, after = hooks.split(objects)
    # CRDs first: every custom resource of the chart needs its definition established.
    main = ([o for o in main if o["kind"] == "CustomResourceDefinition"]
            + [o for o in main if o["kind"] != "CustomResourceDefinition"])
    hook_objects = [h.object for phase in before + after for h in phase.hooks]
    _assign_namespace(main + hook_objects, comp.namespace)
    comp.objects = main
    comp.hooks_before = before
    comp.hooks_after = after
    comp.chart = source.description


_KUBE_VERSION = re.compile(
    r"chart requires kubeVersion: (?P<want>\S+) which is incompatible with Kubernetes (?P<have>\S+)")


def _reason(text: str) -> str:
    found = _KUBE_VERSION.search(text)
    if found:
        return f"requires kubeVersion {found['want']}; the target runs {found['have']}"
    return text


def _excluded(obj: dict[str, Any], spec: HelmChart) -> bool:
    name = str((obj.get("metadata") or {}).get("name", ""))
    return any(obj.get("kind") == p.kind and fnmatch.fnmatchcase(name, p.name) for p in spec.exclude)


def _assign_namespace(objects: list[dict[str, Any]], namespace: str) -> None:
    """helm leaves metadata.namespace to `helm install`; we apply ourselves, so fill it in for
    everything not known to be cluster-scoped (same rule as render.assign_namespaces)."""
    crds = kinds.crd_scopes(objects)
    for obj in objects:
        meta = obj["metadata"]
        if not meta.get("namespace") and kinds.is_namespaced(obj, crds) is not False:
            obj["metadata"] = {"name": meta["name"], "namespace": namespace, **meta}


def render_charts(
    rendering: Rendering,
    *,
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    offline: bool = False,
    cache: ChartCache | None = None,
    timeout: float = helm.TEMPLATE_TIMEOUT,
    roles: Sequence[str] | None = None,
) -> None:
    """Fill every helm component of `rendering` (of the cluster `roles` given, default all)
    with its objects and hook phases.

    Charts missing from the cache are pulled first, unless `offline` (then ChartNotCached).
    Raises ToolError when helm is missing or fails, TemplateError when its output is not a
    list of Kubernetes objects.
    """
    cache = cache if cache is not None else ChartCache()
    specs = {c.name: c.helm for c in rendering.experiment.spec.components if c.helm is not None}
    secrets = secret_values(rendering)
    for comp in rendering.components:
        spec = specs.get(comp.name)
        if comp.source != "helm" or spec is None or (roles is not None and comp.cluster not in roles):
            continue
        source = locate(spec, rendering.folder, cache=cache, offline=offline)
        render_chart(comp, spec, source, kube_version=kube_version, api_versions=api_versions,
                     secrets=secrets, timeout=timeout)
