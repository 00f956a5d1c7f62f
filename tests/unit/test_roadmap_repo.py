"""The repository's own roadmap/, experiments/ and adrs/ agree with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from illm_lab import catalog
from illm_lab.authoring import adr, roadmap
from illm_lab.cli.main import app

REPO = Path(__file__).resolve().parents[2]
ROADMAP, EXPERIMENTS, ADRS = REPO / "roadmap", REPO / "experiments", REPO / "adrs"


def named() -> dict[str, roadmap.Item]:
    road = roadmap.load(ROADMAP)
    return {item.name: item for doc in road.documents for item in doc.items}


def built() -> set[str]:
    return {folder.name for folder in catalog.discover(EXPERIMENTS)}


def test_nine_phases_and_nineteen_appendices_with_their_sections() -> None:
    road = roadmap.load(ROADMAP)
    assert [d.ident for d in road.phases] == [str(n) for n in range(1, 10)]
    assert [d.ident for d in road.appendices] == list("ABCDEFGHIJKLMNOPQRS")
    assert road.warnings == ()
    for doc in road.documents:
        text = doc.path.read_text(encoding="utf-8")
        for section in ("## Goals", "## Learning objectives", "## Experiments"):
            assert f"\n{section}\n" in text, f"{doc.path}: no {section!r} section"
        assert doc.items, f"{doc.path}: the checklist names no experiment"


def test_every_experiment_named_in_the_roadmap_exists_or_is_planned() -> None:
    exists = built()
    missing = [f"{i.where}: {n}" for n, i in named().items() if n not in exists and not i.marked_planned]
    assert not missing, "named in roadmap/ but not in experiments/ (build it or mark it (planned)):\n" + (
        "\n".join(missing)
    )


def test_every_experiment_appears_in_the_roadmap() -> None:
    unlisted = sorted(built() - set(named()))
    assert not unlisted, f"experiments not named in any roadmap/ checklist: {unlisted}"


def test_no_built_experiment_is_still_marked_planned() -> None:
    stale = [f"{i.where}: {n}" for n, i in named().items() if n in built() and i.marked_planned]
    assert not stale, "built but still marked (planned):\n" + "\n".join(stale)


def test_experiment_phase_matches_its_place_in_the_roadmap() -> None:
    items = named()
    wrong = []
    for name in sorted(built() & set(items)):
        try:
            manifest = yaml.safe_load((EXPERIMENTS / name / catalog.MANIFEST).read_text(encoding="utf-8"))
            phase = str(manifest["metadata"]["phase"])
        except (yaml.YAMLError, KeyError, TypeError):
            continue  # a broken manifest is reported by lab lint and its own tests
        item = items[name]
        if phase != item.section and phase.split(".")[0] != item.section:
            wrong.append(f"{name}: metadata.phase {phase!r}, listed under {item.section} ({item.where})")
    assert not wrong, "\n".join(wrong)


def test_adrs_parse_and_references_from_the_code_resolve() -> None:
    records = adr.list_all(ADRS)
    numbers = [a.number for a in records]
    assert len(numbers) == len(set(numbers)) and 1 in numbers
    files = {a.path.name for a in records}
    dangling = []
    for path in sorted((REPO / "src").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for ref in re.findall(r"adrs/(\d{4}-[a-z0-9-]+\.md)", text):
            if ref not in files:
                dangling.append(f"{path.relative_to(REPO)}: adrs/{ref}")
    assert not dangling, "references to ADRs that do not exist:\n" + "\n".join(dangling)


def test_lab_roadmap_runs_on_the_repository() -> None:
    res = CliRunner().invoke(app, [
        "--experiments-dir", str(EXPERIMENTS), "roadmap", "--roadmap-dir", str(ROADMAP),
        "--adrs-dir", str(ADRS), "-o", "json",
    ])
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.stdout)["metrics"]
    assert metrics["phases_total"] == 9 and metrics["appendices_available"] == 19
    assert metrics["adrs_documented"] == len(adr.discover(ADRS))
    assert metrics["technology_adrs"] == len(adr.discover(ROADMAP / "adrs")) >= 10
    assert metrics["experiments_total"] >= 40


def test_technology_adrs_parse_and_cite_experiments_that_exist() -> None:
    """Every record of roadmap/adrs/ parses, and the experiments its Evidence names are built."""
    records = adr.list_all(ROADMAP / "adrs")
    assert [a.number for a in records] == list(range(1, len(records) + 1))
    exists = built() | {n for n, i in named().items() if i.marked_planned}
    for record in records:
        text = record.path.read_text(encoding="utf-8")
        evidence = text.split("\n## Evidence\n", 1)[1]
        cited = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", evidence)) & set(named())
        assert cited, f"{record.path.name}: its Evidence names no experiment of the roadmap"
        assert cited <= exists, f"{record.path.name}: cites {sorted(cited - exists)}"
