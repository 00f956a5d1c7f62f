"""A ledger with broken run files: `lab status` and `lab down` keep working for every other
instance and name each bad file in a warning; nothing crashes or exits 2."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from illm_lab.ledger import Ledger
from tests.cli.conftest import Lab
from tests.conduct.test_conduct_emulator import labelled
from tests.support.emulator import LabEmulator


def _runs_dir() -> Path:
    return Path(os.environ["LAB_STATE_DIR"]) / "runs"


def _break(name: str, text: str) -> Path:
    path = _runs_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.emulator
def test_status_and_down_survive_bad_run_files(lab: Lab, emulator: LabEmulator) -> None:
    emulator.auto_ready()
    kube = ["--kubeconfig", str(emulator.kubeconfig), "--context", "emulator"]
    res: Any = lab("apply", "demo", *kube)
    assert res.exit_code == 0, res.output
    truncated = _break("20260101T000000000000Z-other-abcdef.json", '{"version": 1, "id": "x", "obj')
    newer = _break("20260101T000000000000Z-demo-abcdef.json",
                   '{"version": 9, "id": "x", "instance": "demo", "experiment": "demo"}')
    garbage = _break("notes.json", "\x00\x01 not json")

    res = lab("status", "-o", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["state"] for r in rows] == ["succeeded", "unreadable", "unreadable", "unreadable"]
    assert rows[0]["deployed"] == 4
    assert {r["file"] for r in rows[1:]} == {str(truncated), str(newer), str(garbage)}
    for path in (truncated, newer, garbage):
        assert f"lab: warning: {path}: " in res.stderr
    assert "newer than this lab understands" in res.stderr
    table = lab("status")
    assert table.exit_code == 0 and "unreadable" in table.stdout

    res = lab("down", "demo", *kube)
    assert res.exit_code == 0, res.output
    assert "4 deleted" in res.stdout
    assert f"{newer}: ledger format version 9" in res.stderr and f"{garbage}: " in res.stderr
    assert str(truncated) not in res.stderr  # another instance's file: not even read
    assert labelled(emulator) == []
    assert lab("down", "demo", *kube).exit_code == 0


def test_status_of_an_empty_or_broken_ledger_never_exits_2(lab: Lab) -> None:
    res: Any = lab("status")
    assert res.exit_code == 0 and "no runs recorded" in res.output
    bad = _break("20260101T000000000000Z-demo-abcdef.json", "")
    res = lab("status", "demo")
    assert res.exit_code == 0, res.output
    assert f"{bad}: unreadable ledger file" in res.stderr
    assert lab("status", "other", "-o", "json").stdout.strip() == "[]"


def test_down_of_an_instance_whose_only_run_is_unreadable(lab: Lab) -> None:
    bad = _break("20260101T000000000000Z-demo-abcdef.json", "{")
    res: Any = lab("down", "demo")
    assert res.exit_code == 0, res.output
    assert "nothing of demo" in res.output and f"{bad}: " in res.stderr
    assert Ledger().runs() == []
