"""The hub platform: a manifest in the experiment format, deployed to the `hub` cluster role.

Why the Experiment format and not a format of its own: the platform is components (pinned Helm
charts with values templates), namespaces and a cluster, which is exactly what an experiment
declares, so `lab lint`, `lab render`, the chart cache and the engine work on it unchanged
(`lab lint --experiments-dir platform hub`). Its folder is `--platform DIR` > `$LAB_PLATFORM_DIR`
> `./platform/hub`. Conventions the hub relies on: every component runs on the `hub` cluster,
and OpenBao is the component named `openbao` (its Service is the release name, port 8200).
See adrs/0015-hub-platform-as-an-experiment-manifest.md.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from illm_lab import catalog
from illm_lab.base.errors import UsageError
from illm_lab.catalog import Entry
from illm_lab.model.experiment import Experiment
from illm_lab.rendering.render import Rendering

INSTANCE = "lab-hub"  # the hub's instance id (ledger, labels); never an experiment's default
EXPERIMENT = "hub"  # the name hub commands carry in the event stream
CLUSTER = "lab-hub"  # the name of the hub cluster lab creates
ROLE = "hub"
OPENBAO = "openbao"


def folder(override: Path | None = None) -> Path:
    if override is not None:
        return override
    env = os.environ.get("LAB_PLATFORM_DIR")
    return Path(env) if env else Path("platform") / "hub"


def load(override: Path | None = None) -> Entry:
    """The platform manifest, validated like an experiment (ManifestError with file:line)."""
    path = folder(override)
    if not (path / catalog.MANIFEST).is_file():
        raise UsageError(
            f"hub platform manifest {path / catalog.MANIFEST} not found (run lab from the "
            "repository root, or pass --platform DIR)"
        )
    entry = catalog.load(path)
    wrong = [c.name for c in entry.experiment.spec.components if c.cluster != ROLE]
    if wrong:
        raise UsageError(f"{entry.manifest}: hub platform components must run on cluster hub "
                         f"(not: {', '.join(wrong)})")
    return entry


def minimal() -> Experiment:
    """A stand-in manifest for ledger runs when the platform folder is not at hand (destroy)."""
    return Experiment.model_validate({
        "apiVersion": "lab.illm.io/v1alpha1", "kind": "Experiment",
        "metadata": {"name": "hub", "title": "Hub platform", "phase": "1", "type": "demo"},
        "spec": {"clusters": {ROLE: {}}},
    })


def select(rendering: Rendering, names: list[str]) -> Rendering:
    """`rendering` with only the components `names` (and the namespaces they use)."""
    known = [c.name for c in rendering.components]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"--components: unknown {', '.join(unknown)}; the platform has "
                         f"{', '.join(known)}")
    chosen = [dataclasses.replace(c, depends_on=[d for d in c.depends_on if d in names])
              for c in rendering.components if c.name in names]
    used = {c.namespace for c in chosen if c.namespace}
    namespaces = {role: [ns for ns in objs if ns["metadata"]["name"] in used]
                  for role, objs in rendering.namespaces.items()}
    return dataclasses.replace(rendering, components=chosen, namespaces=namespaces)
