"""The interrupt matrix, repeated with seeds: `lab conduct` (a random step of the `--events`
stream, then a random delay), `lab apply` and `lab hub bootstrap` (a random request held by the
fault proxy), stopped by SIGINT, SIGTERM or SIGKILL. tests/conduct/test_interrupts.py covers every step once per
signal; this suite draws the point, the signal and the delay from a seed.

Invariant of every trial: no object carrying lab's labels is left (SIGINT/SIGTERM during a
conduct tear down by themselves; SIGKILL and every apply are followed by `lab down`, every hub
bootstrap by `lab hub destroy --yes`), no
traceback, and the ledger named everything that existed before the cleanup.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.interrupts import Plan, apply_trial, conduct_trial, hub_trial

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(180)]
CONDUCT_SEEDS = [0, 1, 2, 3, 4, 5]
APPLY_SEEDS = [0, 1, 2, 3, 4, 5, 6, 9]
HUB_SEEDS = [0, 1, 3, 4, 6, 11]


def test_seeds_cover_every_signal() -> None:
    assert {Plan.draw("conduct", s).signal for s in CONDUCT_SEEDS} == {"SIGINT", "SIGTERM", "SIGKILL"}
    assert {Plan.draw("apply", s).signal for s in APPLY_SEEDS} == {"SIGINT", "SIGTERM", "SIGKILL"}
    assert {Plan.draw("apply", s).point.split()[-1] for s in APPLY_SEEDS} == {"held", "released"}
    assert {Plan.draw("hub", s).signal for s in HUB_SEEDS} == {"SIGINT", "SIGTERM", "SIGKILL"}


@pytest.mark.parametrize("seed", CONDUCT_SEEDS)
def test_interrupted_conduct_leaves_nothing(tmp_path: Path, seed: int) -> None:
    trial = conduct_trial(tmp_path, seed)
    assert trial.correct, trial.as_dict()
    assert trial.orphans == []


@pytest.mark.parametrize("seed", APPLY_SEEDS)
def test_interrupted_apply_is_undone_by_down(tmp_path: Path, seed: int) -> None:
    trial = apply_trial(tmp_path, seed)
    assert trial.correct, trial.as_dict()
    assert trial.orphans == [] and trial.duplicates == 0


@pytest.mark.parametrize("seed", HUB_SEEDS)
def test_interrupted_hub_bootstrap_is_undone_by_destroy(tmp_path: Path, seed: int) -> None:
    trial = hub_trial(tmp_path, seed)
    assert trial.correct, trial.as_dict()
    assert trial.orphans == [] and trial.duplicates == 0
