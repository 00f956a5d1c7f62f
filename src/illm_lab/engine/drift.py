"""Has anyone changed what lab applied? Comparing the applied fields with the live object.

A re-apply skips an object only if (1) its applied-hash annotation equals the hash of the new
configuration — lab's intent is unchanged — and (2) the live object still holds every field lab
applies with the value lab applied: someone else's `kubectl edit`, `scale` or patch of one of
those fields is drift and makes the engine apply again. Fields lab does not set (defaults,
status, other managers' fields) are ignored.

The live object is looked at only through the paths of the applied configuration (`project`).
Servers normalise some values (`cpu: 0.5` is stored as `500m`, `stringData` becomes `data`), so
`matches` understands those; for anything else it cannot see through, the ledger remembers the
hash of the projection right after the last apply (`live_hash`), and an unchanged projection
means no one has touched it since.
"""

from __future__ import annotations

import base64
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from illm_lab.engine.inventory import digest

MISSING = "\x00missing"
_QUANTITY_PARENTS = frozenset({"limits", "requests", "capacity", "hard", "allocatable"})
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]i?|Ki|)$")
_SUFFIX: dict[str, Decimal | int] = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3,
    "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20,
    "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
_LIST_KEYS = ("name", "containerPort", "port", "mountPath", "devicePath", "ip", "type")
_IGNORED_TOP = frozenset({"apiVersion", "kind", "status"})
_IGNORED_META = frozenset(
    {"resourceVersion", "uid", "generation", "creationTimestamp", "managedFields", "selfLink"}
)


def comparable(desired: dict[str, Any]) -> dict[str, Any]:
    """The part of a desired object that the live object must hold."""
    out = {k: v for k, v in desired.items() if k not in _IGNORED_TOP}
    meta = {k: v for k, v in (desired.get("metadata") or {}).items() if k not in _IGNORED_META}
    out["metadata"] = meta
    if desired.get("kind") == "Secret" and isinstance(desired.get("stringData"), dict):
        data = dict(out.get("data") or {})
        for key, value in out.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


def project(live: Any, desired: Any) -> Any:
    """`live` seen through the shape of `desired`: only the keys and list items desired has."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return MISSING if live is None else live
        return {k: project(live.get(k), v) if k in live else MISSING for k, v in desired.items()}
    if isinstance(desired, list):
        if not isinstance(live, list):
            return MISSING if live is None else live
        return [project(item, want) for want, item in _pair(desired, live)]
    return live


def projection_hash(live: dict[str, Any], desired: dict[str, Any]) -> str:
    return digest(project(live, comparable(desired)))


def matches(desired: dict[str, Any], live: dict[str, Any]) -> bool:
    """True when every field of `desired` holds the same value in `live`."""
    return _same(comparable(desired), live, parent="")


def _same(want: Any, have: Any, parent: str) -> bool:
    if want is None:
        return have is None
    if isinstance(want, dict):
        if not want:
            return have is None or isinstance(have, dict)
        if not isinstance(have, dict):
            return False
        return all(_same(v, have.get(k), k) for k, v in want.items())
    if isinstance(want, list):
        if not want:
            return have is None or have == []
        if not isinstance(have, list) or len(have) != len(want):
            return False
        return all(_same(w, h, parent) for w, h in _pair(want, have))
    if want == have and type(want) is type(have):
        return True
    if isinstance(want, bool) or isinstance(have, bool):
        return False
    if isinstance(want, int | float) and isinstance(have, int | float):
        return want == have
    if parent in _QUANTITY_PARENTS or _is_quantity_map_value(parent):
        a, b = _quantity(want), _quantity(have)
        return a is not None and a == b
    return False


def _is_quantity_map_value(parent: str) -> bool:
    return parent in {"storage", "cpu", "memory", "ephemeral-storage"}


def _pair(desired: list[Any], live: list[Any]) -> list[tuple[Any, Any]]:
    """Pair each desired item with its live item: by merge key where items have one, else by
    position."""
    key = _list_key(desired)
    if key is None:
        return [(want, live[i] if i < len(live) else None) for i, want in enumerate(desired)]
    index: dict[Any, Any] = {}
    for item in live:
        if isinstance(item, dict):
            index.setdefault(_key_of(item, key), item)
    return [(want, index.get(_key_of(want, key))) for want in desired]


def _list_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _LIST_KEYS:
        if all(key in i for i in items):
            return key
    return None


def _key_of(item: dict[str, Any], key: str) -> Any:
    if key in ("port", "containerPort"):
        return (item.get(key), item.get("protocol") or "TCP")
    return item.get(key)


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value.strip())
    if not m:
        return None
    try:
        number = Decimal(m.group(1))
    except InvalidOperation:
        return None
    suffix = m.group(2)
    if suffix[:1] in ("e", "E"):
        return number * (Decimal(10) ** int(suffix[1:]))
    return number * Decimal(_SUFFIX[suffix])
