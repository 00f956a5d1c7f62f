"""Roadmap phase matching, kept free of pydantic so the catalog index can use it cheaply."""

from __future__ import annotations


def phase_matches(mine: str, wanted: str) -> bool:
    """`3` matches 3 and 3.x; `3.1` matches only 3.1; appendix letters match exactly."""
    return mine == wanted or mine.split(".")[0] == wanted
