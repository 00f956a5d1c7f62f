"""The experiment catalog: finding and loading manifests (`entries`), resolving params and
binding them into the manifest (`params`, `binding`), the JSON Schema (`schema`), the listing
cache (`index`) and the views `lab show` prints (`views`).

`from illm_lab import catalog` gives the loading API; the submodules are imported by name.
"""

from illm_lab.catalog.entries import (
    MANIFEST,
    Entry,
    Problem,
    bind,
    discover,
    find,
    load,
    load_all,
    load_checked,
    select,
    validation_problems,
)

__all__ = [
    "MANIFEST",
    "Entry",
    "Problem",
    "bind",
    "discover",
    "find",
    "load",
    "load_all",
    "load_checked",
    "select",
    "validation_problems",
]
