"""`lab charts import`: a chart archive or folder placed into the cache under the pin it matches.

This is how air-gapped users and internal mirrors fill the cache, and how charts built from their
public sources get there. A chart is accepted only when the name and version in its own
Chart.yaml equal a pin of the catalog: the cache key is the pinned reference, so an archive filed
under the wrong pin would make every later render lie about what it deployed. One archive that
several pins share (the same chart and version from two locations) is filed under each.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from illm_lab.base.errors import InputError
from illm_lab.base.yamlio import load_all, read_text
from illm_lab.catalog import Entry
from illm_lab.charts.cache import CachedChart, ChartCache
from illm_lab.charts.reference import ChartRef
from illm_lab.tools import helm

MAX_CHART_YAML = 256 * 1024


@dataclass(frozen=True)
class Imported:
    source: Path
    chart: str
    version: str
    entries: list[CachedChart]

    def as_dict(self) -> dict[str, Any]:
        return {"source": str(self.source), "chart": self.chart, "version": self.version,
                "stored": [e.as_dict() for e in self.entries]}


def pins(entries: list[Entry]) -> dict[tuple[str, str], set[ChartRef]]:
    """(chart, version) -> the references the catalog pins for it."""
    out: dict[tuple[str, str], set[ChartRef]] = {}
    for entry in entries:
        for comp in entry.experiment.spec.components:
            ref = ChartRef.of(comp.helm) if comp.helm else None
            if ref is not None:
                out.setdefault((ref.chart, ref.version), set()).add(ref)
    return out


def import_chart(source: Path, pinned: dict[tuple[str, str], set[ChartRef]],
                 *, cache: ChartCache | None = None) -> Imported:
    """Store the chart at `source` (a .tgz archive or a chart folder) under every pin it matches."""
    cache = cache if cache is not None else ChartCache()
    if source.is_dir():
        name, version = _identity(_chart_yaml_of_folder(source), source)
        refs = _matching(pinned, name, version, source)
        work = Path(tempfile.mkdtemp(prefix="lab-import-"))
        try:
            archive = helm.package(source, into=work)
            stored = [cache.add(ref, archive, origin=f"imported from {source}") for ref in refs]
        finally:
            shutil.rmtree(work, ignore_errors=True)
    elif source.is_file():
        name, version = _identity(_chart_yaml_of_archive(source), source)
        refs = _matching(pinned, name, version, source)
        stored = [cache.add(ref, source, origin=f"imported from {source}") for ref in refs]
    else:
        raise InputError("no chart archive or folder there", where=str(source))
    return Imported(source=source, chart=name, version=version, entries=stored)


def _matching(pinned: dict[tuple[str, str], set[ChartRef]], name: str, version: str,
              source: Path) -> list[ChartRef]:
    refs = pinned.get((name, version))
    if refs:
        return sorted(refs, key=lambda r: (r.kind, r.location))
    others = sorted(v for (n, v) in pinned if n == name)
    hint = (f"the catalog pins {name} at {', '.join(others)}" if others
            else f"no experiment uses a chart named {name!r}")
    raise InputError(f"chart {name} {version} is not pinned by the catalog ({hint})",
                     where=str(source))


def _identity(text: str, source: Path) -> tuple[str, str]:
    docs = load_all(text, source=f"{source} (Chart.yaml)")
    data = docs[0].data if docs else None
    if not isinstance(data, dict) or not data.get("name") or data.get("version") is None:
        raise InputError("Chart.yaml has no name or version", where=str(source))
    return str(data["name"]), str(data["version"])


def _chart_yaml_of_folder(folder: Path) -> str:
    return read_text(folder / "Chart.yaml", what="Chart.yaml", max_bytes=MAX_CHART_YAML)


def _chart_yaml_of_archive(archive: Path) -> str:
    """The top-level `<chart>/Chart.yaml` of a helm archive (never a subchart's)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    if member.size > MAX_CHART_YAML:
                        raise InputError("Chart.yaml is too large", where=str(archive))
                    fh = tar.extractfile(member)
                    if fh is None:
                        break
                    return fh.read().decode("utf-8", "replace")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"not a chart archive (.tgz): {exc}", where=str(archive)) from None
    raise InputError("not a chart archive: no <chart>/Chart.yaml inside", where=str(archive))
