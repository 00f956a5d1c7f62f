"""Label and field selectors as the API server parses them (`labelSelector=`, `fieldSelector=`).

Field selectors are generic dotted paths here (the real server allows a fixed set per resource);
a missing field compares as the empty string, as on the real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\((.*)\)\s*$")
_CMP_RE = re.compile(rf"^\s*({_KEY})\s*(==|!=|=|>|<)\s*(.*?)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


class SelectorError(ValueError):
    """An unparsable selector (reported as 400 BadRequest)."""


def _split_terms(text: str) -> list[str]:
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t for t in (t.strip() for t in terms) if t]


def _label_term(term: str) -> Matcher:
    if m := _SET_RE.match(term):
        key, op = m.group(1), m.group(3)
        values = {v.strip() for v in m.group(4).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _CMP_RE.match(term):
        key, op, value = m.group(1), m.group(3), m.group(4)
        if op in ("=", "=="):
            return lambda labels: labels.get(key) == value
        if op == "!=":
            return lambda labels: labels.get(key) != value
        try:
            bound = int(value)
        except ValueError as exc:
            raise SelectorError(f"invalid label selector value {value!r} for {op}") from exc

        def compare(labels: dict[str, Any]) -> bool:
            try:
                have = int(labels.get(key, ""))
            except ValueError:
                return False
            return have > bound if op == ">" else have < bound

        return compare
    if m := _EXISTS_RE.match(term):
        negated, key = m.group(1) == "!", m.group(2)
        return (lambda labels: key not in labels) if negated else (lambda labels: key in labels)
    raise SelectorError(f"unable to parse requirement: {term!r}")


def label_matcher(text: str | None) -> Matcher:
    """A predicate over an object's labels for a `labelSelector` string."""
    if not text:
        return lambda obj: True
    terms = [_label_term(t) for t in _split_terms(text)]

    def matches(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(t(labels) for t in terms)

    return matches


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return ""
        cur = cur[part]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def field_matcher(text: str | None) -> Matcher:
    """A predicate over an object for a `fieldSelector` string."""
    if not text:
        return lambda obj: True
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(text):
        if "!=" in term:
            path, value = term.split("!=", 1)
            terms.append((path.strip(), False, value.strip()))
        elif "=" in term:
            path, value = term.replace("==", "=", 1).split("=", 1)
            terms.append((path.strip(), True, value.strip()))
        else:
            raise SelectorError(f"invalid field selector: {term!r}")

    def matches(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, p) == v) == eq for p, eq, v in terms)

    return matches


def selector_matcher(label_selector: str | None, field_selector: str | None) -> Matcher:
    labels, fields = label_matcher(label_selector), field_matcher(field_selector)
    return lambda obj: labels(obj) and fields(obj)
