"""Partial object matching, after Kyverno Chainsaw's assertion trees.

An expected tree matches an actual object when every key it names is present and matches:
- mappings match recursively (keys the expectation does not name are ignored);
- a list matches when every expected item matches some actual item (order is free);
- a scalar matches by equality, except a string in parentheses, which is an expression:
  `(>= 2)`, `(< 0.5)`, `(!= Failed)`, `(exists)`, `(absent)`, `(~ ^ready)` (regex search).

`mismatches` returns human-readable differences (path: expected vs actual) for the report.
"""

from __future__ import annotations

import re
from typing import Any

_EXPR = re.compile(r"^\(\s*(>=|<=|==|!=|>|<|~|exists|absent)\s*(.*?)\s*\)$")


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '(root)'}: expected a mapping, got {_show(actual)}"]
        out: list[str] = []
        for key, exp in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            op = _operator(exp)
            if op == "absent":
                if key in actual:
                    out.append(f"{sub}: expected absent, got {_show(actual[key])}")
            elif key not in actual:
                wanted = "to exist" if op == "exists" else f"{_show(exp)}"
                out.append(f"{sub}: missing (expected {wanted})")
            else:
                out.extend(mismatches(exp, actual[key], sub))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {_show(actual)}"]
        out = []
        for i, exp in enumerate(expected):
            if not any(not mismatches(exp, act, f"{path}[{i}]") for act in actual):
                out.append(f"{path}[{i}]: no item matches {_show(exp)}")
        return out
    if isinstance(expected, str) and (m := _EXPR.match(expected)):
        return (
            []
            if _compare(m.group(1), m.group(2), actual)
            else [f"{path}: expected {expected}, got {_show(actual)}"]
        )
    if expected == actual or (
        _is_number(expected) and _is_number(actual) and float(expected) == float(actual)
    ):
        return []
    return [f"{path}: expected {_show(expected)}, got {_show(actual)}"]


def _operator(expected: Any) -> str | None:
    if isinstance(expected, str) and (m := _EXPR.match(expected)):
        return m.group(1)
    return None


def _compare(op: str, operand: str, actual: Any) -> bool:
    if op == "exists":
        return actual is not None
    if op == "~":
        return actual is not None and re.search(operand, str(actual)) is not None
    if op in ("==", "!="):
        same = str(actual) == operand or (
            _is_number(actual)
            and _parse_number(operand) is not None
            and float(actual) == _parse_number(operand)
        )
        return same if op == "==" else not same
    target = _parse_number(operand)
    if target is None or not _is_number(actual):
        return False
    value = float(actual)
    return {">": value > target, ">=": value >= target, "<": value < target, "<=": value <= target}[op]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:119] + "…"


def compare(op: str, left: float, right: float) -> bool:
    """The comparison of a `promql` expectation."""
    return {
        "==": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]
