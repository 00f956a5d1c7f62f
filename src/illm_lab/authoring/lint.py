"""`lab lint`: every problem of an experiment, offline, as findings.

Lint never stops at the first problem and never passes silently: anything it could not verify
(a custom resource without a schema in the render, a chart that is not in the cache) is reported
as a note saying so. Errors make `lab lint` exit 1; notes and warnings do not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from illm_lab import catalog
from illm_lab.authoring import eol, locate, openapi, targets
from illm_lab.base import kinds
from illm_lab.base.errors import InputError, LabError, UsageError
from illm_lab.catalog import params
from illm_lab.rendering import render
from illm_lab.rendering.installers import installers

DEFAULT_KUBE_VERSION = "1.31"

Severity = Literal["error", "warning", "note"]

CHART_NOT_CACHED = "chart-not-cached"
"""Topic of the notes a chart missing from the cache causes (the chart's own and those of the
check targets it would have rendered): one cause, one command fixes it all, so the terminal
report folds them into one line (`-v` and JSON keep every finding)."""


@dataclass(frozen=True)
class Finding:
    severity: Severity
    where: str
    message: str
    topic: str | None = None
    subject: str | None = None  # what the topic is about, e.g. the chart `name version`

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}"


@dataclass
class LintResult:
    experiment: str
    findings: list[Finding] = field(default_factory=list)
    objects: int = 0
    # A template failed to render: what it would have made is unknown, so the checks that need
    # the whole rendering (check targets, workflow) are skipped rather than reported as missing.
    incomplete: bool = False

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "ok": self.ok,
            "objects": self.objects,
            "findings": [
                {"severity": f.severity, "where": f.where, "message": f.message,
                 **({"topic": f.topic, "subject": f.subject} if f.topic else {})}
                for f in self.findings
            ],
        }

    def add(self, severity: Severity, where: str, message: str, *,
            topic: str | None = None, subject: str | None = None) -> None:
        self.findings.append(Finding(severity, where, message, topic, subject))


def check_kube_version(kube_version: str) -> None:
    """Refuse a `--kube-version` that is not `<major>.<minor>[.<patch>]`: it names a schema
    folder and is passed to helm, so nothing else (`1.31/../..`) may get through."""
    if not openapi.KUBE_VERSION.fullmatch(kube_version):
        raise UsageError(
            f"--kube-version {kube_version[:80]!r}: expected <major>.<minor>[.<patch>], e.g. 1.31"
        )


def lint_folder(
    folder: Path,
    kube_version: str = DEFAULT_KUBE_VERSION,
    *,
    values_files: list[Path] | None = None,
    sets: list[str] | None = None,
) -> LintResult:
    """Lint an experiment at its defaults, or with `--values`/`--set` as conduct would take
    them: the manifest, its files, then `lint_rendering`."""
    check_kube_version(kube_version)
    result = LintResult(experiment=folder.name)
    entry, problems = catalog.load_checked(folder)
    for problem in problems:
        result.add("error", problem.where, problem.message)
    if entry is None:
        return result
    _check_files(entry, result)
    _note_commands(entry, result)
    try:
        resolved = params.resolve(entry.experiment, values_files, sets)
    except InputError as exc:
        if values_files or sets:  # the user's own flags: bad input (exit 2), not a finding
            raise
        result.add("error", exc.where or str(entry.manifest), exc.message)
        return result
    rendering = _render_each(entry, resolved, result)
    return lint_rendering(entry, rendering, kube_version, result)


def lint_rendering(
    entry: catalog.Entry,
    rendering: render.Rendering,
    kube_version: str = DEFAULT_KUBE_VERSION,
    result: LintResult | None = None,
) -> LintResult:
    """Lint one rendering — the one `conduct` is about to deploy, with the user's `--set` and
    `--values` — rendering its charts from the cache (offline) into a copy, so the caller's
    rendering is left as it was."""
    check_kube_version(kube_version)
    result = result if result is not None else LintResult(experiment=entry.name)
    rendering = _chart_copy(rendering)
    _check_instructions(entry, rendering.params, result)
    eol.check(entry, result.add)  # end-of-life components: warnings, never errors
    unrendered, uncached = _render_charts(entry, rendering, kube_version, result)
    comps = rendering.components + ([rendering.workflow] if rendering.workflow else [])
    comps += list(rendering.solutions.values())
    objects = [(c.name, c.cluster, o) for c in comps for o in targets.objects_of(c)]
    objects += [("namespaces", role, o) for role, nss in rendering.namespaces.items() for o in nss]
    result.objects = len(objects)
    _check_duplicates(entry, objects, result)
    _check_labels(entry, objects, result)
    found = installers(rendering.components, unrendered)
    installed_by = {comp: " or ".join(str(i) for i in by) for comp, by in found.items()}
    try:
        openapi.check([(c, o) for c, _r, o in objects], kube_version,
                      _folding(result, uncached, schemas=True), _ident, locate.template_lines(entry, comps),
                      installed_by)
    except openapi.UnknownVersion:
        raise InputError(f"--kube-version {kube_version}: no schemas for this version") from None
    if not result.incomplete:
        targets.check_targets(entry, rendering, unrendered, _folding(result, uncached))
        _check_workflow(entry, rendering, result)
    return result


def _chart_copy(rendering: render.Rendering) -> render.Rendering:
    """A copy of `rendering` for lint to render its charts into. Rendering a chart sets its
    component's objects, hooks and chart, and lint only reads objects, so the helm components
    are copied and everything else is shared: a deep copy of 15,000 objects took longer than
    validating them."""
    comps = [dataclasses.replace(c) if c.source == "helm" else c for c in rendering.components]
    return dataclasses.replace(rendering, components=comps)


def _note_commands(entry: catalog.Entry, result: LintResult) -> None:
    """Which local programs the experiment's command checks run (with the user's rights, only
    when allowed: config/trust.py)."""
    for name, argv, path in entry.experiment.commands():
        result.add("note", f"{entry.manifest}:{entry.document.line_of(path) or 1}",
                   f"check {name!r} runs the local program {argv[0]!r} on your machine "
                   f"({' '.join(argv)[:120]}); it runs only from the catalog you work in, after lab trust, "
                   "or with --allow-commands")


def _check_workflow(entry: catalog.Entry, rendering: render.Rendering, result: LintResult) -> None:
    """`workflow.waitFor` must name a Job the workflow renders: conduct waits for that Job."""
    spec, rendered = entry.experiment.spec.workflow, rendering.workflow
    if spec is None or rendered is None:
        return
    if not any(o.get("kind") == "Job" and (o.get("metadata") or {}).get("name") == spec.wait_for
               for o in rendered.objects):
        where = f"{entry.manifest}:{entry.document.line_of(('spec', 'workflow', 'waitFor')) or 1}"
        result.add("error", where, f"workflow.waitFor {spec.wait_for!r}: no Job of that name among "
                   "the workflow's rendered objects, so conduct would have nothing to wait for")


def _folding(result: LintResult, uncached: dict[str, str], *, schemas: bool = False) -> openapi.Add:
    """`result.add` tagging the notes an uncached chart causes, so they fold into the cache
    summary: a check target that chart would have rendered (tagged with the chart) and, with
    `schemas`, a custom resource left unvalidated for want of a CRD the chart may ship."""
    def add(severity: Severity, where: str, message: str) -> None:
        chart = next((ref for comp, ref in uncached.items()
                      if message.endswith(targets.unrendered_reason(comp))), None)
        if severity == "note" and chart is not None:
            result.add(severity, where, message, topic=CHART_NOT_CACHED, subject=chart)
        elif severity == "note" and schemas and uncached and message.endswith(openapi.NO_CRD):
            result.add(severity, where, message, topic=CHART_NOT_CACHED)
        else:
            result.add(severity, where, message)
    return add


def _render_charts(
    entry: catalog.Entry, rendering: render.Rendering, kube_version: str, result: LintResult
) -> tuple[set[str], dict[str, str]]:
    """Render helm components from the chart cache — lint never pulls, so it stays offline —
    checking their values against the chart's values.schema.json first. Returns the names of
    the helm components left unrendered (each of them got a finding saying why) and, of those,
    the ones whose chart is not in the cache, with the chart."""
    from illm_lab import charts
    from illm_lab.charts import rendering as chart_rendering
    from illm_lab.charts import values as chart_values
    from illm_lab.tools.run import ToolNotFound

    cache = charts.ChartCache()
    secrets = chart_rendering.secret_values(rendering)
    rendered = {c.name: c for c in rendering.components}
    unrendered: set[str] = set()
    uncached: dict[str, str] = {}
    for i, spec in enumerate(entry.experiment.spec.components):
        comp = rendered.get(spec.name)
        if spec.helm is None or comp is None:
            continue
        unrendered.add(spec.name)
        where = f"{entry.manifest}:{entry.document.line_of(('spec', 'components', i, 'helm')) or 1}"
        unverified = "so its objects and the check targets inside it were not verified"
        try:
            source = charts.locate(spec.helm, entry.folder, cache=cache, offline=True)
            problems = chart_values.check(source.path, comp.values or {}, label=source.label)
        except charts.ChartNotCached:
            ref = charts.ChartRef.of(spec.helm)
            uncached[spec.name] = f"{ref.chart} {ref.version}" if ref else str(spec.helm.chart)
            result.add("note", where, f"component {spec.name}: chart {ref} is not in the chart "
                       f"cache, {unverified} (`lab charts pull {entry.name}` fetches it)",
                       topic=CHART_NOT_CACHED, subject=uncached[spec.name])
            continue
        except InputError as exc:
            result.add("error", exc.where or where, exc.message)
            continue
        values_at = str(entry.folder / spec.helm.values) if spec.helm.values else where
        for problem in problems or []:
            result.add("error", values_at, f"component {spec.name}: values do not match the "
                       f"values.schema.json of chart {source.label}: {problem}")
        if problems:
            continue
        try:
            charts.render_chart(comp, spec.helm, source, kube_version=kube_version, secrets=secrets)
        except ToolNotFound as exc:
            result.add("note", where, f"component {spec.name}: chart not rendered ({exc}), {unverified}")
            continue
        except LabError as exc:  # helm failed, or its output is not a list of objects
            result.add("error", exc.where or where, f"component {spec.name}: {exc.message}")
            continue
        unrendered.discard(spec.name)
    return unrendered, uncached


def _check_files(entry: catalog.Entry, result: LintResult) -> None:
    exp, folder = entry.experiment, entry.folder
    wanted: list[tuple[str, tuple[str | int, ...]]] = []
    for i, comp in enumerate(exp.spec.components):
        if comp.helm and comp.helm.values:
            wanted.append((comp.helm.values, ("spec", "components", i, "helm", "values")))
        if comp.helm and comp.helm.path:
            wanted.append((comp.helm.path, ("spec", "components", i, "helm", "path")))
        for j, name in enumerate(comp.manifests or []):
            wanted.append((name, ("spec", "components", i, "manifests", j)))
    if exp.spec.tutorial:
        wanted.append((exp.spec.tutorial.guide, ("spec", "tutorial", "guide")))
        for i, cp in enumerate(exp.spec.tutorial.checkpoints):
            for j, name in enumerate(cp.solution or []):
                wanted.append((name, ("spec", "tutorial", "checkpoints", i, "solution", j)))
    if exp.spec.workflow:
        for j, name in enumerate(exp.spec.workflow.manifests):
            wanted.append((name, ("spec", "workflow", "manifests", j)))
    root = folder.resolve()
    for rel, path in wanted:
        target = (folder / rel).resolve()
        line = entry.document.line_of(path) or 1
        where = f"{entry.manifest}:{line}"
        if not target.is_relative_to(root):
            result.add("error", where, f"{rel!r} points outside the experiment folder")
        elif not target.exists():
            result.add("error", where, f"file {rel!r} not found")
    if not (folder / "README.md").is_file():
        result.add("warning", str(folder), "no README.md guide")


def _render_each(
    entry: catalog.Entry, resolved: dict[str, Any], result: LintResult
) -> render.Rendering:
    """Render component by component so one broken template does not hide the others."""
    env = render.make_environment(entry.folder)
    ctx = render.context(entry.experiment, resolved)
    comps = []
    for comp in entry.experiment.spec.components:
        try:
            comps.append(render.render_component(entry, env, comp, ctx))
        except InputError as exc:
            result.add("error", exc.where or str(entry.manifest), exc.message)
            result.incomplete = True
    rendering = render.Rendering(
        experiment=entry.experiment, params=resolved,
        namespaces=render.namespace_objects(entry.experiment), components=comps,
    )
    render.assign_namespaces(comps)
    try:
        rendering.workflow = render.render_workflow(entry, env, ctx)
    except InputError as exc:
        result.add("error", exc.where or str(entry.manifest), exc.message)
        result.incomplete = True
    try:
        rendering.solutions = render.render_solutions(entry, env, ctx)
    except InputError as exc:
        result.add("error", exc.where or str(entry.manifest), exc.message)
        result.incomplete = True
    return rendering


def _check_instructions(entry: catalog.Entry, resolved: dict[str, Any], result: LintResult) -> None:
    """Render every checkpoint's instructions and hint as the session would, with placeholder
    endpoints, so an undefined name is found here and not in front of a learner."""
    tutorial = entry.experiment.spec.tutorial
    if tutorial is None:
        return
    env = render.make_environment(entry.folder)
    placeholders = {
        s.name: render.endpoint_view(s, "127.0.0.1", s.local_port or 8080, "port-forward")
        for s in tutorial.services
    }
    ctx = render.instructions_context(entry.experiment, resolved, placeholders)
    for i, cp in enumerate(tutorial.checkpoints):
        for key, text in (("instructions", cp.instructions), ("hint", cp.hint)):
            if text is None:
                continue
            path = ("spec", "tutorial", "checkpoints", i, key)
            where = f"{entry.manifest}:{entry.document.line_of(path) or 1}"
            try:
                render.render_text(env, text, ctx, where=where)
            except InputError as exc:
                result.add("error", where, f"checkpoint {cp.name} {key}: {exc.message}")


def _ident(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {ns}{meta.get('name')}"


def _check_duplicates(
    entry: catalog.Entry, objects: list[tuple[str, str, dict[str, Any]]], result: LintResult
) -> None:
    seen: dict[tuple[str, str, str, str, str], str] = {}
    for comp, cluster, obj in objects:
        meta = obj["metadata"]
        key = (
            cluster, kinds.group_of(obj["apiVersion"]), obj["kind"],
            str(meta.get("namespace", "")), str(meta["name"]),
        )
        if key in seen:
            result.add(
                "error", str(entry.manifest),
                f"{_ident(obj)} is rendered twice on cluster {cluster} "
                f"(components {seen[key]} and {comp})",
            )
        seen[key] = comp


def _check_labels(
    entry: catalog.Entry, objects: list[tuple[str, str, dict[str, Any]]], result: LintResult
) -> None:
    for comp, _cluster, obj in objects:
        meta = obj["metadata"]
        problem = kinds.name_problem(str(obj.get("kind")), str(obj.get("apiVersion")),
                                     str(meta.get("name") or ""))
        if problem is not None:
            certain, message = problem
            result.add("error" if certain else "warning", f"component {comp}",
                       f"{_ident(obj)}: {message}")
        namespace = meta.get("namespace")
        wrong = kinds.namespace_problem(str(namespace)) if namespace is not None else None
        if wrong is not None:
            result.add("error", f"component {comp}", f"{_ident(obj)}: metadata.{wrong}")
        labels = meta.get("labels") or {}
        if not isinstance(labels, dict):
            result.add("error", f"component {comp}", f"{_ident(obj)}: metadata.labels must be a mapping")
            continue
        for key in labels:
            if str(key).startswith(render.LAB_LABEL_PREFIX):
                result.add(
                    "error", f"component {comp}",
                    f"{_ident(obj)}: label {key} is reserved; lab sets its inventory labels itself",
                )
            if not isinstance(labels[key], str):
                result.add("error", f"component {comp}", f"{_ident(obj)}: label {key} must be a string")
