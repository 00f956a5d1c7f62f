"""Patch arithmetic for the API emulator: merge patch, JSON patch, strategic merge, server-side apply.

Why hand-rolled and why a table: kmock's emulator only deep-merges dicts. The real API server
merges lists by key and tracks field ownership from the OpenAPI schema's patch metadata
(`x-kubernetes-patch-merge-key`, `x-kubernetes-list-type: map`). The emulator has no schemas, so
the merge keys come from a table keyed by *field name* (`containers` merge by `name`, `ports` by
`containerPort`/`port`, ...). That covers the lists that experiments touch; any other list is
atomic (replaced whole), which is also what the API server does for lists without metadata.

Field ownership is a set of paths in the `FieldsV1` vocabulary (`f:spec`, `k:{"name":"c"}`,
`v:"x"`), so `metadata.managedFields` looks like a real server's and clients can read it.
Functions here never touch their inputs' nested values unless the docstring says they mutate the
first argument (callers pass a fresh deep copy).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any, cast

Path = tuple[str, ...]
Entries = dict[tuple[str, str, str], "ManagedEntry"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

# Lists merged by key, by field name. For `ports` the first key present in all items wins
# (container ports carry `containerPort`, service ports carry `port`).
ASSOC_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "conditions": ("type",),
    "ports": ("containerPort", "port"),
    "topologySpreadConstraints": ("topologyKey",),
    "resourceClaims": ("name",),
    "readinessGates": ("conditionType",),
    "ownerReferences": ("uid",),
    "sysctls": ("name",),
}
# Lists of scalars merged as sets.
SET_LISTS = frozenset({"finalizers"})

# Metadata the server owns: never part of anybody's field set, never taken from a request.
SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)


class PatchError(ValueError):
    """A patch that cannot be applied (reported as 422 Invalid)."""


class ApplyConflict(Exception):
    """Server-side apply touched fields owned by other managers (reported as 409)."""

    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        self.conflicts = conflicts
        super().__init__(conflict_message(conflicts))


def list_key(field: str, items: Iterable[Any]) -> str | None:
    """The merge key of the list in `field`, or None if the list is atomic."""
    keys = ASSOC_KEYS.get(field)
    items = [i for i in items if not (isinstance(i, dict) and "$patch" in i and len(i) == 1)]
    if not keys or not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in keys:
        if all(key in i for i in items):
            return key
    return None


def drop_nulls(value: Any) -> Any:
    """A copy of `value` without null map values (SSA treats them as unset)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


# ---------------------------------------------------------------- JSON merge patch (RFC 7386)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch. Mutates and returns `target` when both are maps."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


# ---------------------------------------------------------------- JSON patch (RFC 6902)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, *, for_add: bool) -> int:
    if token == "-" and for_add:
        return len(container)
    if not token.isdigit():
        raise PatchError(f"invalid array index {token!r}")
    idx = int(token)
    if idx > len(container) or (idx == len(container) and not for_add):
        raise PatchError(f"array index {idx} out of bounds")
    return idx


def _parent(doc: Any, tokens: list[str]) -> Any:
    cur = doc
    for token in tokens[:-1]:
        if isinstance(cur, dict) and token in cur:
            cur = cur[token]
        elif isinstance(cur, list):
            cur = cur[_index(cur, token, for_add=False)]
        else:
            raise PatchError(f"path segment {token!r} does not exist")
    return cur


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path segment {last!r} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, for_add=False)]
    raise PatchError(f"cannot index into {type(parent).__name__}")


def _remove(doc: Any, tokens: list[str]) -> Any:
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"cannot remove missing key {last!r}")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, for_add=False))
    raise PatchError(f"cannot remove from {type(parent).__name__}")


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, for_add=True), value)
    else:
        raise PatchError(f"cannot add into {type(parent).__name__}")
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch. Mutates and returns `doc`."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation {op!r}")
        kind, tokens = op["op"], _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            _get(doc, tokens)
            if not tokens:
                doc = copy.deepcopy(op.get("value"))
            else:
                _remove(doc, tokens)
                doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if _get(doc, tokens) != op.get("value"):
                raise PatchError(f"test operation failed at {op['path']!r}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


# ---------------------------------------------------------------- strategic merge patch


def strategic_merge(target: Any, patch: Any, *, directives: bool = True) -> Any:
    """Strategic merge patch of `patch` into `target` (mutated when it is a map).

    Supports the directives kubectl emits: `$patch: replace|delete` on maps and list items,
    `$retainKeys`, `$deleteFromPrimitiveList/<field>`; `$setElementOrder/<field>` is ignored.
    Returns MISSING when the map itself is deleted by `$patch: delete`.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    if directives:
        directive = patch.get("$patch")
        if directive == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if directive == "delete":
            return MISSING
    for key, value in patch.items():
        if key.startswith("$"):
            if directives and key.startswith("$deleteFromPrimitiveList/"):
                field = key.split("/", 1)[1]
                if isinstance(target.get(field), list):
                    target[field] = [v for v in target[field] if v not in value]
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            merged = strategic_merge(
                current if isinstance(current, dict) else {}, value, directives=directives
            )
            if merged is MISSING:
                target.pop(key, None)
            else:
                target[key] = merged
        elif isinstance(value, list):
            current = target.get(key)
            target[key] = _merge_list(
                key, current if isinstance(current, list) else [], value, directives=directives
            )
        else:
            target[key] = value
    if directives and isinstance(patch.get("$retainKeys"), list):
        retain = set(patch["$retainKeys"])
        for key in list(target):
            if key not in retain:
                del target[key]
    return target


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _merge_list(field: str, current: list[Any], patch: list[Any], *, directives: bool) -> list[Any]:
    if directives and any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in SET_LISTS and all(not isinstance(i, dict | list) for i in patch):
        return list(current) + [copy.deepcopy(v) for v in patch if v not in current]
    key = list_key(field, [*current, *patch])
    if key is None:
        return [_strip_directives(i) for i in patch] if directives else copy.deepcopy(patch)
    result = list(current)
    for item in patch:
        found = next((n for n, cur in enumerate(result) if cur.get(key) == item.get(key)), None)
        if directives and item.get("$patch") == "delete":
            if found is not None:
                del result[found]
        elif found is None:
            result.append(_strip_directives(item) if directives else copy.deepcopy(item))
        else:
            merged = strategic_merge(result[found], item, directives=directives)
            if merged is MISSING:
                del result[found]
            else:
                result[found] = merged
    return result


# ---------------------------------------------------------------- field sets (FieldsV1 paths)


def _key_segment(key: str, value: Any) -> str:
    return "k:" + json.dumps({key: value}, sort_keys=True, separators=(",", ":"))


def field_paths(value: Any, prefix: Path = ()) -> set[Path]:
    """Leaf paths of a map, with list items of keyed lists as their own (marker) paths."""
    out: set[Path] = set()
    if not isinstance(value, dict):
        return {prefix} if prefix else out
    if not value and prefix:
        return {prefix}
    for key, sub in value.items():
        path = (*prefix, f"f:{key}")
        if isinstance(sub, dict) and sub:
            out |= field_paths(sub, path)
        elif isinstance(sub, list) and sub:
            lkey = list_key(key, sub)
            if lkey is not None:
                for item in sub:
                    item_path = (*path, _key_segment(lkey, item[lkey]))
                    out.add(item_path)
                    out |= field_paths(item, item_path)
            elif key in SET_LISTS and all(not isinstance(i, dict | list) for i in sub):
                out |= {(*path, "v:" + json.dumps(i)) for i in sub}
            else:
                out.add(path)
        else:
            out.add(path)
    return out


def object_fields(obj: dict[str, Any] | None, *, include_status: bool = True) -> set[Path]:
    """The field paths of an object that field managers can own."""
    if not obj:
        return set()
    trimmed = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if not include_status:
        trimmed.pop("status", None)
    meta = trimmed.get("metadata")
    if isinstance(meta, dict):
        meta = {
            k: v
            for k, v in meta.items()
            if k not in SERVER_METADATA and k not in ("name", "namespace")
        }
        if meta:
            trimmed["metadata"] = meta
        else:
            trimmed.pop("metadata")
    return field_paths(trimmed)


def value_at(obj: Any, path: Path) -> Any:
    """The value at a field path, or MISSING."""
    cur = obj
    for seg in path:
        kind, _, rest = seg.partition(":")
        if kind == "f":
            if not isinstance(cur, dict) or rest not in cur:
                return MISSING
            cur = cur[rest]
        elif kind == "k":
            if not isinstance(cur, list):
                return MISSING
            want = json.loads(rest)
            cur = next(
                (
                    i
                    for i in cur
                    if isinstance(i, dict) and all(i.get(a) == b for a, b in want.items())
                ),
                MISSING,
            )
            if cur is MISSING:
                return MISSING
        elif kind == "v":
            val = json.loads(rest)
            return val if isinstance(cur, list) and val in cur else MISSING
        else:
            return MISSING
    return cur


def remove_path(obj: Any, path: Path) -> None:
    """Remove the value at a field path from `obj` (mutated), if present."""
    if not path:
        return
    parent = value_at(obj, path[:-1])
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        want = json.loads(rest)
        parent[:] = [
            i
            for i in parent
            if not (isinstance(i, dict) and all(i.get(a) == b for a, b in want.items()))
        ]
    elif kind == "v" and isinstance(parent, list):
        val = json.loads(rest)
        parent[:] = [i for i in parent if i != val]


def human_path(path: Path) -> str:
    """`.spec.containers[name="c"].image` for a field path."""
    out = ""
    for seg in path:
        kind, _, rest = seg.partition(":")
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            out += "[" + ",".join(f"{a}={json.dumps(b)}" for a, b in json.loads(rest).items()) + "]"
        else:
            out += f"[={rest}]"
    return out


def conflict_message(conflicts: list[tuple[str, Path]]) -> str:
    lines = [f'conflict with "{m}": {human_path(p)}' for m, p in conflicts]
    noun = "conflict" if len(lines) == 1 else "conflicts"
    if len(lines) == 1:
        return f"Apply failed with 1 conflict: {lines[0]}"
    return f"Apply failed with {len(lines)} {noun}: " + "\n".join(lines)


# ---------------------------------------------------------------- managedFields


class ManagedEntry:
    """One `managedFields` entry with its field set parsed."""

    __slots__ = ("api_version", "fields", "time")

    def __init__(self, api_version: str, time: str, fields: set[Path]) -> None:
        self.api_version = api_version
        self.time = time
        self.fields = fields


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for seg in path:
            node = node.setdefault(seg, {})
    for path in paths:
        node = root
        for seg in path:
            node = node[seg]
        if node and "." not in node:
            node["."] = {}
    return root


def from_fields_v1(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, sub in fields.items():
        if key == ".":
            out.add(prefix)
        elif isinstance(sub, dict) and sub:
            out |= from_fields_v1(sub, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def parse_managed(obj: dict[str, Any] | None) -> Entries:
    entries: Entries = {}
    for raw in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if not isinstance(raw, dict) or not raw.get("manager"):
            continue
        key = (raw["manager"], raw.get("operation", "Update"), raw.get("subresource", ""))
        entries[key] = ManagedEntry(
            raw.get("apiVersion", ""), raw.get("time", ""), from_fields_v1(raw.get("fieldsV1") or {})
        )
    return entries


def render_managed(entries: Entries) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for (manager, operation, subresource), entry in entries.items():
        if not entry.fields:
            continue
        raw: dict[str, Any] = {
            "manager": manager,
            "operation": operation,
            "apiVersion": entry.api_version,
            "time": entry.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(entry.fields),
        }
        if subresource:
            raw["subresource"] = subresource
        out.append(raw)
    return out


def _set_managed(obj: dict[str, Any], entries: Entries) -> None:
    rendered = render_managed(entries)
    meta = obj.setdefault("metadata", {})
    if rendered:
        meta["managedFields"] = rendered
    else:
        meta.pop("managedFields", None)


def _changed(old: dict[str, Any] | None, new: dict[str, Any], paths: set[Path]) -> set[Path]:
    changed: set[Path] = set()
    for path in paths:
        now, before = value_at(new, path), value_at(old, path) if old else MISSING
        if isinstance(now, dict) and path[-1].startswith("k:"):
            if before is MISSING:
                changed.add(path)
        elif now != before:
            changed.add(path)
    return changed


def track_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    time: str,
    subresource: str = "",
) -> None:
    """Record an Update-operation write in `new`'s managedFields (mutates `new`)."""
    entries = parse_managed(old)
    new_paths = object_fields(new)
    old_paths = object_fields(old)
    changed = _changed(old, new, new_paths) | (old_paths - new_paths)
    for entry in entries.values():
        entry.fields = (entry.fields - changed) & new_paths
    key = (manager, "Update", subresource)
    mine = entries.get(key)
    owned = (mine.fields if mine else set()) | (changed & new_paths)
    stamp = mine.time if mine is not None and owned == mine.fields else time
    entries[key] = ManagedEntry(api_version, stamp, owned)
    _set_managed(new, {k: e for k, e in entries.items() if e.fields})


def server_side_apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    *,
    manager: str,
    force: bool,
    api_version: str,
    time: str,
    include_status: bool,
    subresource: str = "",
) -> dict[str, Any]:
    """The object after applying `config` as `manager`; raises ApplyConflict.

    Fields this manager applied before and no longer applies are removed unless another
    manager also owns them; fields another manager owns with a different value conflict.
    """
    config = drop_nulls(config)
    if not include_status:
        config.pop("status", None)
    applied = object_fields(config)
    key = (manager, "Apply", subresource)
    if live is None:
        new = copy.deepcopy(config)
        new.setdefault("metadata", {}).pop("managedFields", None)
        _set_managed(new, {key: ManagedEntry(api_version, time, applied)})
        return new

    entries = parse_managed(live)
    others = {k: e for k, e in entries.items() if k != key}
    conflicts: list[tuple[str, Path]] = []
    for path in sorted(applied):
        wanted = value_at(config, path)
        if isinstance(wanted, dict):
            continue
        current = value_at(live, path)
        if current is MISSING or current == wanted:
            continue
        for (other, _, _), entry in others.items():
            if path in entry.fields:
                conflicts.append((other, path))
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    if force:
        taken = {path for _, path in conflicts}
        for entry in others.values():
            entry.fields -= taken
    others_union: set[Path] = set().union(*(e.fields for e in others.values()))
    previous = entries[key].fields if key in entries else set()
    removed = previous - applied - others_union

    new = copy.deepcopy(live)
    for path in sorted(removed, key=len, reverse=True):
        if any(len(q) > len(path) and q[: len(path)] == path for q in others_union):
            continue
        remove_path(new, path)
    _prune_empty(new, removed, others_union | applied)
    body = {k: v for k, v in config.items() if k != "metadata"}
    meta = {k: v for k, v in (config.get("metadata") or {}).items() if k not in SERVER_METADATA}
    new = cast(dict[str, Any], strategic_merge(new, {**body, "metadata": meta}, directives=False))
    mine = entries.get(key)
    stamp = mine.time if mine is not None and mine.fields == applied else time
    entries[key] = ManagedEntry(api_version, stamp, applied)  # keeps its position if present
    _set_managed(new, {k: e for k, e in entries.items() if e.fields})
    return new


def _prune_empty(obj: dict[str, Any], removed: set[Path], owned: set[Path]) -> None:
    for path in sorted(removed, key=len, reverse=True):
        for depth in range(len(path) - 1, 0, -1):
            parent = path[:depth]
            value = value_at(obj, parent)
            if value in ({}, []) and parent not in owned:
                remove_path(obj, parent)
            else:
                break
