"""Plain data views of catalog entries for the UI and for JSON output (no printing here)."""

from __future__ import annotations

from typing import Any

from illm_lab.catalog import Entry
from illm_lab.model.checks import check_type, effective_timeout


def experiment_summary(entry: Entry) -> dict[str, Any]:
    meta = entry.experiment.metadata
    return {
        "name": meta.name,
        "title": meta.title,
        "phase": meta.phase,
        "type": meta.type,
        "tags": list(meta.tags),
        "path": str(entry.folder),
    }


def experiment_detail(entry: Entry) -> dict[str, Any]:
    """The manifest as data, with secret param defaults masked."""
    data = entry.experiment.model_dump(mode="json", by_alias=True, exclude_none=True)
    for name, param in entry.experiment.spec.params.items():
        if param.secret and "default" in data["spec"]["params"][name]:
            data["spec"]["params"][name]["default"] = "***"
    data["path"] = str(entry.folder)
    data["commands"] = [{"check": name, "run": argv} for name, argv, _ in entry.experiment.commands()]
    return data


def detail_lines(entry: Entry) -> list[str]:
    exp = entry.experiment
    meta, spec = exp.metadata, exp.spec
    out = [f"{meta.name} — {meta.title}", f"phase {meta.phase} · {meta.type} · tags: "
           f"{', '.join(meta.tags) or '-'}"]
    if meta.description:
        out += ["", meta.description.strip()]
    out += ["", "clusters:"]
    out += [f"  {role}: {c.provider}, {c.size}" for role, c in spec.clusters.items()]
    if spec.params:
        out += ["params:"]
        for name, p in spec.params.items():
            default = "***" if p.secret else _shown(p.default)
            about = f" — {p.description}" if p.description else ""
            out.append(f"  {name} ({p.type}) = {default}{about}")
    out += ["components:"]
    for comp in spec.components:
        if comp.helm:
            h = comp.helm
            src = f"chart {h.chart or h.oci or h.path}@{h.version or 'local'}"
        else:
            src = f"manifests {', '.join(comp.manifests or [])}"
        deps = f" after {', '.join(comp.depends_on)}" if comp.depends_on else ""
        out.append(f"  {comp.name} → {comp.cluster}/{comp.namespace or '-'}: {src}{deps}")
    checks = spec.checks
    if checks:
        out += ["checks:"]
        out += [f"  {c.name} [{check_type(c)}, {effective_timeout(c):g}s]" for c in checks]
    if spec.tutorial:
        out += [f"tutorial: {spec.tutorial.guide}, {len(spec.tutorial.checkpoints)} checkpoints"]
    commands = exp.commands()
    if commands:
        out += ["local programs its command checks run (with your rights; only from the catalog "
                "you work in, after lab trust, or with --allow-commands):"]
        out += [f"  {name}: {' '.join(argv)}" for name, argv, _ in commands]
    return out


def _shown(value: object) -> str:
    """A param default as a user would type it: `6.7.1`, `run /scripts/script.js`, `-` for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)
