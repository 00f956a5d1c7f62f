"""`lab doctor`: which external tools this machine has, and whether they are good enough.

Only helm is required: every experiment with a chart needs `helm template`, and 3.8 is the first
release where OCI registries are generally available (earlier ones need an experimental flag).
The rest depend on what a user does, so they are recommended or optional, each with the oldest
version we are prepared to support:

- kubectl 1.28 — lab talks to the API itself; kubectl is for following the tutorials by hand,
  and 1.28 is the oldest cluster lab supports (kubectl's skew policy is ±1 minor).
- talosctl 1.9 — the default cluster provider; the oldest release lab's provider code handles.
- docker 20.10 — runs the nodes of local Talos and kind clusters.
- kind 0.22 — provider `kind`; the first release whose default node image is Kubernetes ≥ 1.28.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import Any, Literal

from illm_lab.base.errors import ToolError
from illm_lab.tools.run import run

Level = Literal["required", "recommended", "optional"]
Status = Literal["ok", "missing", "too old", "unknown"]

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Requirement:
    name: str
    level: Level
    minimum: tuple[int, int]
    version_argv: tuple[str, ...]
    purpose: str
    install: str


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("helm", "required", (3, 8), ("helm", "version", "--short"),
                "pulls and renders Helm charts (helm pull, helm template)",
                "https://helm.sh/docs/intro/install/ (in a lab checkout: ./scripts/install-helm)"),
    Requirement("kubectl", "recommended", (1, 28), ("kubectl", "version", "--client"),
                "following the tutorials by hand; lab itself talks to the API directly",
                "https://kubernetes.io/docs/tasks/tools/"),
    Requirement("talosctl", "recommended", (1, 9), ("talosctl", "version", "--client", "--short"),
                "creates Talos clusters (the default provider)",
                "https://www.talos.dev/latest/talos-guides/install/talosctl/"),
    Requirement("docker", "recommended", (20, 10), ("docker", "--version"),
                "runs the nodes of local Talos and kind clusters",
                "https://docs.docker.com/engine/install/"),
    Requirement("kind", "optional", (0, 22), ("kind", "version"),
                "creates kind clusters (provider kind)",
                "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"),
)


@dataclass(frozen=True)
class ToolStatus:
    requirement: Requirement
    status: Status
    path: str | None = None
    version: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        req = self.requirement
        return {
            "name": req.name, "level": req.level, "status": self.status, "ok": self.ok,
            "version": self.version, "minimum": ".".join(map(str, req.minimum)),
            "path": self.path, "purpose": req.purpose,
            "install": None if self.ok else req.install, "note": self.note,
        }


@dataclass(frozen=True)
class Diagnosis:
    tools: list[ToolStatus]

    @property
    def ok(self) -> bool:
        """False when a required tool is missing or too old (`lab doctor` then exits 1)."""
        return all(t.ok for t in self.tools if t.requirement.level == "required")

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "tools": [t.as_dict() for t in self.tools]}


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first `vX.Y[.Z]` in a tool's version output."""
    match = _VERSION.search(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def probe(req: Requirement, timeout: float = 15.0) -> ToolStatus:
    path = shutil.which(req.name)
    if path is None:
        return ToolStatus(req, "missing")
    try:
        result = run(req.version_argv, timeout=timeout)
    except ToolError as exc:
        first = str(exc).splitlines()[0]
        return ToolStatus(req, "unknown", path=path, note=f"version check failed: {first[:200]}")
    found = parse_version(result.stdout) or parse_version(result.stderr)
    if found is None:
        return ToolStatus(req, "unknown", path=path, note="could not read its version")
    shown = ".".join(map(str, found))
    if found[:2] < req.minimum:
        return ToolStatus(req, "too old", path=path, version=shown)
    note = None
    if req.name == "helm" and found[0] >= 4:
        note = "helm 4 is not yet verified with lab; helm 3.19 is what the tests use"
    return ToolStatus(req, "ok", path=path, version=shown, note=note)


def diagnose() -> Diagnosis:
    return Diagnosis([probe(req) for req in REQUIREMENTS])
