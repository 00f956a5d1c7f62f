"""ADR files: numbering, file names from titles, reading heading and status."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from illm_lab.authoring import adr
from illm_lab.base.errors import InputError, UsageError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def adrs(tmp_path: Path) -> Path:
    root = tmp_path / "adrs"
    root.mkdir()
    shutil.copy(REPO / "adrs" / "template.md", root / "template.md")
    return root


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Use Talos by default", "use-talos-by-default"),
        ("  Ledger-based teardown (v2)!  ", "ledger-based-teardown-v2"),
        ("Crème brûlée & Ümlaut", "creme-brulee-umlaut"),
        ("word " * 30, "-".join(["word"] * 12)),
    ],
)
def test_slug(title: str, expected: str) -> None:
    assert adr.slug(title) == expected
    assert len(adr.slug(title)) <= adr.MAX_SLUG


def test_new_records_take_the_highest_number_plus_one(adrs: Path) -> None:
    first = adr.create(adrs, "Record decisions", today=date(2026, 1, 2))
    assert first.name == "0001-record-decisions.md"
    (adrs / "0007-reserved.md").write_text("# 0007. Reserved\n\n- Status: proposed\n")
    second = adr.create(adrs, "Next one")
    assert second.name == "0008-next-one.md"
    text = first.read_text()
    assert text.startswith("# 0001. Record decisions\n")
    assert "- Status: proposed" in text and "- Date: 2026-01-02" in text
    assert "__" not in text
    listed = adr.list_all(adrs)
    assert [(a.number, a.title, a.status) for a in listed] == [
        (1, "Record decisions", "proposed"), (7, "Reserved", "proposed"), (8, "Next one", "proposed")
    ]


def test_new_refuses_empty_titles_and_a_missing_template(adrs: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        adr.create(adrs, "   ")
    with pytest.raises(UsageError):
        adr.create(adrs, "!!!")
    (adrs / "template.md").unlink()
    with pytest.raises(InputError, match=r"template\.md: ADR template not found"):
        adr.create(adrs, "Anything")
    with pytest.raises(UsageError, match="ADR directory"):
        adr.create(tmp_path / "nope", "Anything")


def test_status_as_a_line_or_as_a_section(adrs: Path) -> None:
    (adrs / "0001-a.md").write_text("# 0001. A\n\n**Status:** Accepted\n")
    (adrs / "0002-b.md").write_text("# ADR-0002: B\n\n## Status\n\nSuperseded by 0003\n\n## Context\n")
    assert [(a.title, a.status) for a in adr.list_all(adrs)] == [
        ("A", "Accepted"), ("B", "Superseded by 0003")
    ]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("0001-a.md", "no heading\n", "0001-a.md:1: expected the first line to be the heading"),
        ("0001-a.md", "# 0002. A\n- Status: accepted\n", "does not match the file name"),
        ("0001-a.md", "# 0001. A\n\nno status\n", "0001-a.md: no 'Status:' line"),
        ("0001-a.md", "# 0001. A\n- Status: maybe\n", "0001-a.md:2: status 'maybe'"),
        ("0001_A.md", "# 0001. A\n", "NNNN-title-in-kebab-case.md"),
    ],
)
def test_broken_records_name_the_file(adrs: Path, name: str, text: str, expected: str) -> None:
    (adrs / name).write_text(text)
    with pytest.raises(InputError) as info:
        adr.list_all(adrs)
    assert expected in str(info.value) and info.value.exit_code == 2
