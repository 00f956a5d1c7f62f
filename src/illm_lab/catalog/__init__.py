"""The experiment catalog: finding and loading manifests (`entries`), resolving params and
binding them into the manifest (`params`, `binding`), the JSON Schema (`schema`), the listing
cache (`index`) and the views `lab show` prints (`views`).

`from illm_lab import catalog` gives the loading API of `entries`, imported on first use: the
listing cache (`catalog.index`) must stay importable without pydantic, so a warm `lab list`
starts fast (adrs/0010).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from illm_lab.catalog.entries import (
        MANIFEST,
        Entry,
        Prepared,
        Problem,
        bind,
        discover,
        find,
        load,
        load_all,
        load_checked,
        prepare,
        select,
        validation_problems,
    )

__all__ = [
    "MANIFEST",
    "Entry",
    "Prepared",
    "Problem",
    "bind",
    "discover",
    "find",
    "load",
    "load_all",
    "load_checked",
    "prepare",
    "select",
    "validation_problems",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("illm_lab.catalog.entries"), name)
    raise AttributeError(f"module 'illm_lab.catalog' has no attribute {name!r}")
