"""Lint: every check's target must be rendered, or be something the rendering may create at run
time (`creators.py` says what); only a target nothing could create is an error."""

from __future__ import annotations

from typing import Any

from illm_lab import catalog
from illm_lab.authoring import creators
from illm_lab.authoring.openapi import Add
from illm_lab.model import checks as checks_model
from illm_lab.model.checks import AnyCheck, parse_service_ref
from illm_lab.rendering import render


def objects_of(comp: render.RenderedComponent) -> list[dict[str, Any]]:
    """Main objects and hook objects; a hook in both phases is one object, listed once."""
    out = list(comp.objects)
    seen: set[int] = set()
    for phase in comp.hooks_before + comp.hooks_after:
        for hook in phase.hooks:
            if id(hook.object) not in seen:
                seen.add(id(hook.object))
                out.append(hook.object)
    return out


def check_targets(entry: catalog.Entry, rendering: render.Rendering, unrendered: set[str], add: Add) -> None:
    """Add a finding for every check target neither rendered nor creatable at run time."""
    exp = entry.experiment
    has_charts = {c.cluster: c.name for c in rendering.components if c.name in unrendered}
    has_command = any(isinstance(c, checks_model.CommandCheck) for c in exp.spec.checks)
    # A checkpoint's target must come from its solution: a non-interactive conduct applies the
    # solution and then runs the checkpoint's checks, so without one it could never pass.
    checks: list[tuple[tuple[str | int, ...], AnyCheck]] = [
        (("spec", "checks", i), c) for i, c in enumerate(exp.spec.checks)
    ]
    if exp.spec.tutorial:
        for i, cp in enumerate(exp.spec.tutorial.checkpoints):
            checks += [
                (("spec", "tutorial", "checkpoints", i, "checks", j), c)
                for j, c in enumerate(cp.checks)
            ]
    solved = [o for c in rendering.solutions.values() for o in c.objects]
    workflow = rendering.workflow.objects if rendering.workflow else []
    for path, check in checks:
        where = f"{entry.manifest}:{entry.document.line_of(path) or 1}"
        objs = rendering.objects(check.cluster) + [
            h for c in rendering.components if c.cluster == check.cluster
            for h in objects_of(c)[len(c.objects):]  # hooks: applied before or after the rest
        ]
        if rendering.workflow and rendering.workflow.cluster == check.cluster:
            objs = objs + workflow
        if path[:2] == ("spec", "tutorial"):
            objs = objs + solved  # a checkpoint may check what its solution (the learner) creates
        for target in _targets(check):
            if creators.present(objs, target):
                continue
            why = _runtime_creator(objs, target, has_charts.get(check.cluster), has_command)
            if why is not None:
                add("note", where, f"check {check.name!r}: target {target} not verified: "
                           f"{why}")
            else:
                add("error", where, f"check {check.name!r}: target {target} is not among "
                           "the rendered objects, and nothing rendered can create it")


def _runtime_creator(
    objs: list[dict[str, Any]], target: creators.CheckTarget, chart: str | None, has_command: bool,
) -> str | None:
    """Why a missing target may still exist at run time, or None when nothing could create it."""
    owner = creators.created_by(objs, target)
    if owner is not None:
        return f"created at run time from {owner}"
    if chart is not None:
        return unrendered_reason(chart)
    grant = creators.granted(objs, target.kind)
    if grant is not None:
        return f"a workload may create it at run time ({grant})"
    made = _CLUSTER_MADE.get((target.kind, target.name or ""))
    if made is not None or (target.kind in ("Event", "Lease", "Node", "PersistentVolume")):
        return f"{made or 'the cluster'} creates it at run time"
    if has_command:
        return "a command check may create it (it runs with your own rights)"
    return None


# Objects the cluster itself makes in every namespace.
_CLUSTER_MADE = {
    ("ServiceAccount", "default"): "the service-account controller",
    ("ConfigMap", "kube-root-ca.crt"): "the root-CA publisher",
}


def _targets(check: AnyCheck) -> list[creators.CheckTarget]:
    from illm_lab.model import checks as c

    if isinstance(check, c.ReadyCheck):
        r = check.ready
        return [creators.CheckTarget(r.kind, r.namespace, r.name, r.selector)]
    if isinstance(check, c.AssertCheck):
        meta = check.assert_.resource.get("metadata") or {}
        return [creators.CheckTarget(check.assert_.resource["kind"], meta.get("namespace"),
                                meta.get("name"), meta.get("labels"))]
    if isinstance(check, c.HttpCheck) and check.http.service:
        ns, name, _port = parse_service_ref(check.http.service)
        return [creators.CheckTarget("Service", ns, name, None)]
    if isinstance(check, c.PromqlCheck):
        ns, name, _port = parse_service_ref(check.promql.service)
        return [creators.CheckTarget("Service", ns, name, None)]
    if isinstance(check, c.LogsCheck):
        logs = check.logs
        return [creators.CheckTarget("Pod", logs.namespace, logs.pod, logs.selector)]
    if isinstance(check, c.AccessCheck) and check.access.service_account:
        namespace, _, name = check.access.service_account.partition("/")
        return [creators.CheckTarget("ServiceAccount", namespace, name, None)]
    return []


def unrendered_reason(component: str) -> str:
    """Why a target is unverified when the chart component that may hold it was not rendered."""
    return f"it may come from chart component {component}, which was not rendered"
