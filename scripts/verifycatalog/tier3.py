"""Tier 3: a server-side dry run on a real API server (the local 1.20 cluster).

An experiment is judged there only when the server can judge all of it:

* every chart renders for the server's version and API versions, as the engine would render it
  for that cluster (helm refuses a chart whose `kubeVersion` excludes the server's version);
* the server serves every apiVersion/kind of that rendering (discovery);
* no object is a custom resource whose CRD is in the same rendering: a dry run stores nothing,
  so such a CRD never exists for its resources. Those experiments go to the emulator whole,
  where the CRD is created and established first, rather than being half-judged here.

The dry run itself: the experiment's Namespaces are created for real through the engine (a
namespaced object cannot be dry-run into a namespace that does not exist — the API server's
NamespaceLifecycle admission refuses it), every other object is sent with `dryRun=All`, then the
Namespaces are removed through the engine and the server is asked that none is left.
"""

from __future__ import annotations

import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from illm_lab.authoring import lint
from illm_lab.base import kinds
from illm_lab.base.errors import LabError
from illm_lab.base.identity import ObjectRef
from illm_lab.catalog import Entry
from illm_lab.charts import ChartCache, locate, render_chart
from illm_lab.charts.rendering import secret_values
from illm_lab.config.selection import Target
from illm_lab.deploy.deployment import open_cluster, roles_of
from illm_lab.deploy.teardown import remove_outstanding
from illm_lab.engine import prune
from illm_lab.engine.apply import Applier, Desired, plan
from illm_lab.engine.inventory import LABEL_INSTANCE, NAMESPACES_COMPONENT, Inventory
from illm_lab.kube import Cluster
from illm_lab.kube import errors as kerrors
from illm_lab.ledger import Ledger
from illm_lab.rendering import render
from illm_lab.rendering.render import Rendering
from verifycatalog.core import ApplyResult, component_objects, one_line

REMOVE_TIMEOUT = 120.0
WORKERS = 8


@dataclass
class Server:
    """The real API server: one connection, its version and API versions read once."""

    cluster: Cluster
    kubeconfig: Path
    context: str
    git_version: str  # v1.20.2
    api_versions: list[str]

    @property
    def version(self) -> str:
        """`1.20.2`, as helm's --kube-version wants it."""
        return self.git_version.lstrip("v").split("+")[0].split("-")[0]

    @classmethod
    def connect(cls, kubeconfig: Path, context: str | None) -> Server:
        from illm_lab import kube

        cluster = kube.connect(kubeconfig, context)
        try:
            version, apis = cluster.server_version(), cluster.api_versions()
        except BaseException:
            cluster.close()
            raise
        return cls(cluster, kubeconfig, cluster.context, version, apis)

    def target(self, role: str) -> Target:
        return Target(role, self.kubeconfig, self.context, "verify-catalog --kubeconfig")

    def close(self) -> None:
        self.cluster.close()


def chart_kube_version(archive: Path) -> str | None:
    """The `kubeVersion` constraint of a chart (archive or folder), for messages."""
    try:
        if archive.is_dir():
            data = yaml.safe_load((archive / "Chart.yaml").read_text(encoding="utf-8"))
        else:
            with tarfile.open(archive) as tar:
                member = next(m for m in tar.getmembers() if m.name.count("/") == 1
                              and m.name.endswith("/Chart.yaml"))
                handle = tar.extractfile(member)
                data = yaml.safe_load(handle.read()) if handle is not None else None
    except (OSError, StopIteration, tarfile.TarError, yaml.YAMLError):
        return None
    value = data.get("kubeVersion") if isinstance(data, dict) else None
    return str(value) if value else None


def admit(
    entry: Entry, resolved: dict[str, Any], server: Server, cache: ChartCache
) -> tuple[Rendering | None, str, str]:
    """The rendering this server can judge whole, or None, why not in a word, and in a line."""
    rendering = render.render(entry, resolved)
    specs = {c.name: c.helm for c in entry.experiment.spec.components if c.helm is not None}
    secrets = secret_values(rendering)
    for comp in rendering.components:
        spec = specs.get(comp.name)
        if comp.source != "helm" or spec is None:
            continue
        source = locate(spec, rendering.folder, cache=cache, offline=True)
        try:
            render_chart(comp, spec, source, kube_version=server.version,
                         api_versions=server.api_versions, secrets=secrets)
        except LabError as exc:
            constraint = chart_kube_version(source.path)
            reason = _helm_reason(exc)
            if constraint and "kubeVersion" in reason:
                return None, "kubeVersion", (f"chart {source.label} requires kubeVersion "
                                             f"{constraint}, which excludes {server.git_version}")
            return None, "chart", f"chart {source.label} does not render for {server.git_version}: {reason}"
    objects = _objects(rendering)
    crds = kinds.crd_scopes(objects)
    own_crs = 0
    unserved: set[str] = set()
    for obj in objects:
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        if (kinds.group_of(api_version), kind) in crds:
            own_crs += 1
            continue
        try:
            server.cluster.resource(api_version, kind)
        except kerrors.UnknownKind:
            unserved.add(f"{api_version} {kind}")
    if unserved:
        listed = sorted(unserved)
        more = f" (+{len(listed) - 3} more)" if len(listed) > 3 else ""
        return None, "API", f"{server.git_version} does not serve {', '.join(listed[:3])}{more}"
    if own_crs:
        noun = "custom resource" if own_crs == 1 else "custom resources"
        return None, "CRD+CR", (f"{own_crs} {noun} whose CRD is in the same rendering "
                                "(a dry run cannot create the CRD)")
    return rendering, "", ""


def _helm_reason(exc: LabError) -> str:
    """helm's own complaint, without the `Error:` prefixes and the command line."""
    text = " ".join(str(exc).split())
    for marker in ("Error: ", "error: "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    return one_line(text, 200)


def _objects(rendering: Rendering) -> list[dict[str, Any]]:
    out = [o for nss in rendering.namespaces.values() for o in nss]
    for comp in _components(rendering):
        out += component_objects(comp)
    return out


def _components(rendering: Rendering) -> list[render.RenderedComponent]:
    return [*rendering.components, *([rendering.workflow] if rendering.workflow else []),
            *rendering.solutions.values()]


def _roles(rendering: Rendering) -> list[str]:
    return sorted(set(roles_of(rendering)) | {c.cluster for c in _components(rendering)})


def dry_run(entry: Entry, rendering: Rendering, server: Server, *, ledger: Ledger,
            instance: str) -> ApplyResult:
    """Namespaces for real, everything else `dryRun=All`, then the Namespaces removed."""
    result = ApplyResult("tier 3", why=f"dry run on {server.git_version}")
    started = time.monotonic()
    inventory = Inventory(entry.name, instance)
    roles = _roles(rendering)
    with ledger.start(entry.experiment, rendering.params, instance=instance, command="verify") as run:
        clusters: dict[str, Cluster] = {}
        try:
            for role in roles:
                clusters[role] = open_cluster(run, role, server.target(role))
            for role in roles:
                namespaces = rendering.namespaces.get(role, [])
                owned = _owned_namespaces(clusters[role], inventory, namespaces)
                report = Applier(clusters[role], inventory, recorder=run.recorder(role), role=role).apply(
                    plan([(NAMESPACES_COMPONENT, owned)], inventory))
                # someone else's Namespace counts as accepted: the engine deploys into it as it is
                result.total += len(namespaces)
                result.applied += len(namespaces) - len(owned) + sum(
                    1 for o in report.outcomes if o.action != "failed")
            for role in roles:
                pairs = [(c.name, component_objects(c)) for c in _components(rendering)
                         if c.cluster == role]
                desired = plan(pairs, inventory)
                result.total += len(desired)
                refused = _dry_run_all(clusters[role], desired)
                result.applied += len(desired) - len(refused)
                for d, message in refused:
                    name = _ref(d.ref)
                    line = f"{name} (component {d.component}): {message.removeprefix(name + ': ')}"
                    if _newer_field(d.obj, message):
                        result.unknown_fields.append(line)
                    else:
                        result.failures.append(line)
        except LabError as exc:
            result.failures.append(one_line(exc))
        finally:
            try:
                _remove(run, ledger, inventory, clusters, result)
            finally:
                for cluster in clusters.values():
                    cluster.close()
    result.seconds = time.monotonic() - started
    return result


def _owned_namespaces(cluster: Cluster, inventory: Inventory, namespaces: list[dict[str, Any]]
                      ) -> list[dict[str, Any]]:
    """As the engine does: a Namespace that exists without this instance's label is someone
    else's — used as it is, never labelled or deleted."""
    owned = []
    for ns in namespaces:
        live = cluster.get("v1", "Namespace", str(ns["metadata"]["name"]))
        labels = ((live or {}).get("metadata") or {}).get("labels") or {}
        if live is None or labels.get(LABEL_INSTANCE) == inventory.instance:
            owned.append(ns)
    return owned


def _dry_run_all(cluster: Cluster, desired: list[Desired]) -> list[tuple[Desired, str]]:
    """Send every object with dryRun=All, concurrently; each refusal with its one line, in order."""

    def one(d: Desired) -> tuple[Desired, str] | None:
        try:
            res = cluster.resource(d.ref.api_version, d.ref.kind)
            obj = d.obj
            if res.namespaced and not d.ref.namespace:
                obj = {**obj, "metadata": {**obj["metadata"], "namespace": "default"}}
            cluster.apply_to(res, obj, dry_run=True)
        except LabError as exc:
            return d, one_line(exc, 240)
        return None

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="verify-dry-run") as pool:
        return [f for f in pool.map(one, desired) if f is not None]


def _newer_field(obj: dict[str, Any], message: str) -> bool:
    """Whether the server refused a field it does not know that the target version's schema has
    (the object passes `lab lint`'s strict validation for that version): a server too old for
    the chart, as opposed to a misspelt field, which is refused by both."""
    if "field not declared in schema" not in message:
        return False
    import kubernetes_validate as kv

    try:
        kv.validate(obj, lint.DEFAULT_KUBE_VERSION, strict=True)
    except Exception:
        return False
    return True


def _ref(ref: ObjectRef) -> str:
    where = f"{ref.namespace}/" if ref.namespace else ""
    return f"{ref.kind} {where}{ref.name}"


def _remove(run: Any, ledger: Ledger, inventory: Inventory, clusters: dict[str, Cluster],
            result: ApplyResult) -> None:
    """Remove what was created (the Namespaces) through the engine, then ask the server."""
    try:
        remove_outstanding(run, ledger, inventory, clusters=clusters,
                           deadline=time.monotonic() + REMOVE_TIMEOUT)
    except LabError as exc:
        result.removal = f"removal failed: {one_line(exc)}"
        return
    left: list[str] = []
    for cluster in {id(c): c for c in clusters.values()}.values():
        left += [_ref(r) for r in prune.labelled(cluster, inventory, [("v1", "Namespace")])]
    outstanding = [r for o in ledger.outstanding(inventory.instance).values() for r in o.refs]
    left += [f"{_ref(r)} (in the ledger)" for r in outstanding]
    result.removed = not left
    result.removal = "all removed" if not left else "left: " + ", ".join(sorted(set(left))[:5])
