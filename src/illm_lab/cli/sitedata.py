"""What `lab site build` shows, gathered from the repository as plain data for `reports.site`:
the roadmap's progress (`authoring.roadmap`), each experiment's manifest (title, type, whether it
has a tutorial) and its latest committed validation record, and the ADRs.

The site layout (`reports/`) sits beside `authoring/` in the layers, so neither imports the other:
this module, above both, turns the one's results into the other's input.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from illm_lab.authoring.roadmap import DocumentStatus, ExperimentStatus
    from illm_lab.model.experiment import Experiment
    from illm_lab.reports import site


def gather(roadmap_root: Path, experiments_root: Path, adrs_root: Path) -> site.Site:
    from illm_lab import catalog
    from illm_lab.authoring import adr, roadmap
    from illm_lab.reports import site

    prog = roadmap.progress(roadmap_root, experiments_root, adrs_root)
    entries, problems = catalog.load_all(experiments_root)
    manifests = {e.name: e.experiment for e in entries}
    warnings = [*prog.warnings, *(f"{p} (shown without its manifest's details)" for p in problems)]

    def phase(status: DocumentStatus) -> site.Phase:
        doc = status.document
        return site.Phase(
            ident=doc.ident, label=doc.label, title=doc.title, state=status.state,
            anchor=f"{doc.kind}-{doc.ident.lower()}",
            experiments=tuple(_experiment(e, manifests.get(e.item.name), experiments_root)
                              for e in status.experiments),
        )

    return site.Site(
        title="illm-lab roadmap",
        metrics=[(what, value) for what, value in roadmap.metric_rows(prog)[1]],
        phases=tuple(phase(s) for s in prog.phases),
        appendices=tuple(phase(s) for s in prog.appendices),
        adrs=tuple(site.Adr(a.number, a.title, a.status, a.path) for a in adr.list_all(adrs_root)),
        warnings=tuple(warnings),
    )


def _experiment(status: ExperimentStatus, manifest: Experiment | None, root: Path) -> site.Experiment:
    from illm_lab.reports import site

    item = status.item
    validation = None
    if status.record is not None:
        validation = latest_validation(root / item.name / status.record.path.name)
    return site.Experiment(
        name=item.name,
        section=item.section,
        state=status.state,
        description=item.description,
        title=manifest.metadata.title if manifest else "",
        type=manifest.metadata.type if manifest else "",
        tutorial=bool(manifest and manifest.spec.tutorial),
        validation=validation,
    )


def latest_validation(path: Path) -> site.Validation | None:
    """The latest record of a `validation.yaml` (one document or a stream of them), as site
    data. The roadmap's progress has read and checked the file already."""
    from illm_lab.base.yamlio import load_all, read_text
    from illm_lab.model.record import ValidationRecord
    from illm_lab.reports import site

    records = [
        ValidationRecord.model_validate(doc.data)
        for doc in load_all(read_text(path, what="validation record"), source=str(path))
        if isinstance(doc.data, dict)
    ]
    if not records:
        return None
    latest = max(records, key=lambda r: _utc(r.date))
    data: dict[str, Any] = latest.model_dump(mode="json", by_alias=True)
    return site.Validation(
        date=str(data["date"]),
        lab_version=latest.lab_version,
        passed=latest.passed and all(c.passed for c in latest.checks),
        clusters=tuple({**c, "nodes": "; ".join(c["nodes"]), "context": c["context"] or ""}
                       for c in data["clusters"]),
        checks=tuple(data["checks"]),
        metrics=tuple(data.get("metrics") or ()),
        images=tuple(latest.images),
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
