"""Partial object matching (Chainsaw-style assertion trees)."""

from __future__ import annotations

from typing import Any

import pytest

from illm_lab.checks.match import compare, mismatches

DEPLOY: dict[str, Any] = {
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b"}]}}},
    "status": {"availableReplicas": 3, "conditions": [{"type": "Available", "status": "True"}]},
}


@pytest.mark.parametrize(
    "expected",
    [
        {"metadata": {"name": "web"}},
        {"spec": {"replicas": 3}},
        {"status": {"availableReplicas": "(>= 2)"}},
        {"status": {"availableReplicas": "(== 3)"}},
        {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
        {"spec": {"template": {"spec": {"containers": [{"name": "b"}]}}}},
        {"metadata": {"labels": {"app": "(~ ^w)"}}},
        {"metadata": {"annotations": "(absent)"}},
        {"status": {"availableReplicas": "(exists)"}},
        {"spec": {"replicas": 3.0}},
    ],
)
def test_matches(expected: dict[str, Any]) -> None:
    assert mismatches(expected, DEPLOY) == []


@pytest.mark.parametrize(
    ("expected", "fragment"),
    [
        ({"metadata": {"name": "api"}}, "metadata.name: expected 'api', got 'web'"),
        ({"status": {"availableReplicas": "(> 3)"}}, "status.availableReplicas: expected (> 3), got 3"),
        ({"status": {"readyReplicas": 3}}, "status.readyReplicas: missing"),
        ({"status": {"conditions": [{"type": "Progressing"}]}}, "status.conditions[0]: no item matches"),
        ({"metadata": {"labels": "(absent)"}}, "metadata.labels: expected absent"),
        ({"spec": {"replicas": "(exists)"}, "status": {"x": "(exists)"}}, "status.x: missing (expected to exist)"),
        ({"spec": "text"}, "spec: expected 'text'"),
        ({"status": {"conditions": {"a": 1}}}, "expected a mapping"),
    ],
)
def test_mismatches_say_where_and_what(expected: dict[str, Any], fragment: str) -> None:
    found = mismatches(expected, DEPLOY)
    assert found and any(fragment in f for f in found), found


def test_string_number_comparison_is_not_true() -> None:
    assert mismatches({"a": "(>= 2)"}, {"a": "three"})


@pytest.mark.parametrize(("op", "left", "right", "ok"), [(">=", 1, 1, True), ("<", 1, 2, True), ("==", 1, 2, False), ("!=", 1, 2, True)])
def test_compare(op: str, left: float, right: float, ok: bool) -> None:
    assert compare(op, left, right) is ok
