"""Chart references and the cache key derived from them.

A reference is what the manifest pins: a classic repository URL and chart name, or an OCI
reference, plus an exact version. Only pinned references are cached — a version range would make
the key lie about the content. Local charts (a folder inside the experiment) are never cached:
they are rendered straight from the working tree so an edit shows up at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from illm_lab.model.experiment import HelmChart

Kind = Literal["repo", "oci"]


@dataclass(frozen=True)
class ChartRef:
    kind: Kind
    location: str  # repo URL (no trailing slash) or oci://registry/path/chart
    chart: str  # chart name; for OCI, the last path segment
    version: str

    @classmethod
    def of(cls, helm: HelmChart) -> ChartRef | None:
        """The reference of a remote chart; None for a local chart (`path`)."""
        if helm.version is None:
            return None
        if helm.repo is not None and helm.chart:
            return cls("repo", helm.repo.rstrip("/"), helm.chart, helm.version)
        if helm.oci is not None:
            oci = helm.oci.rstrip("/")
            return cls("oci", oci, oci.rsplit("/", 1)[-1], helm.version)
        return None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChartRef:
        kind = data["kind"]
        if kind not in ("repo", "oci"):
            raise ValueError(f"unknown chart reference kind {kind!r}")
        return cls(kind, str(data["location"]), str(data["chart"]), str(data["version"]))

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "location": self.location, "chart": self.chart,
                "version": self.version}

    @property
    def key(self) -> str:
        """sha256 of the canonical reference: the cache entry's name."""
        canonical = json.dumps([self.kind, self.location, self.chart, self.version])
        return hashlib.sha256(canonical.encode()).hexdigest()

    def pull_target(self) -> tuple[str, str | None]:
        """(chart argument, --repo) for `helm pull`."""
        if self.kind == "oci":
            return self.location, None
        return self.chart, self.location

    def __str__(self) -> str:
        if self.kind == "oci":
            return f"{self.location}:{self.version}"
        return f"{self.chart} {self.version} from {self.location}"
