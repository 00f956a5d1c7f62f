"""`scripts/reliability-report` (bench/reliability.py) runs once, as a smoke test: one iteration of
every part, written to a temporary document. Figures are never asserted; the shape is."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.emulator
@pytest.mark.timeout(300)
def test_reliability_report_runs_once(tmp_path: Path) -> None:
    from bench import reliability

    doc = tmp_path / "reliability.md"
    figures = reliability.main(["--smoke", "--doc", str(doc), "--json", str(tmp_path / "figures.json")])
    text = doc.read_text()
    for heading in ("## Faults across whole conducts", "## Interrupts", "## Bad input", "## Security",
                    "## Load: conducts in parallel"):
        assert heading in text
    assert "SMOKE RUN" in text
    assert figures["faults"]["tier2"]["total"]["trials"] == len(reliability.SMOKE_SCHEDULES)
    assert (tmp_path / "figures.json").exists()
