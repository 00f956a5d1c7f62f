"""What an apply would change: a server-side dry-run against the live objects.

Each object is applied with `dryRun=All` — the server runs defaulting, admission and the
field-manager merge exactly as a real apply would, and stores nothing — and the result is
compared with the live object, both stripped of fields that change on every write
(resourceVersion, managedFields, timestamps). Objects whose namespace or kind does not exist yet
cannot be dry-run; they are shown as created, as rendered. Secret values are masked on both sides.
"""

from __future__ import annotations

import copy
import difflib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from illm_lab.base import kinds
from illm_lab.base.identity import ObjectRef
from illm_lab.base.yamlio import dump
from illm_lab.catalog.params import MASK
from illm_lab.engine.apply import Desired
from illm_lab.kube import Cluster
from illm_lab.kube import errors as kerrors
from illm_lab.rendering.render import mask_secrets

_VOLATILE_META = ("resourceVersion", "managedFields", "generation", "creationTimestamp", "uid")


@dataclass(frozen=True)
class ObjectDiff:
    ref: ObjectRef
    component: str
    action: str  # create | change | unchanged | delete (would be pruned)
    diff: str
    cluster: str = ""  # the role whose cluster holds it, once the caller knows

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, **self.ref.as_dict(), "component": self.component,
                "action": self.action, "diff": self.diff}


def diff(
    cluster: Cluster, desired: list[Desired], *, force_conflicts: bool = False, workers: int = 8
) -> list[ObjectDiff]:
    def one(d: Desired) -> ObjectDiff:
        try:
            live = cluster.get(d.ref.api_version, d.ref.kind, d.ref.name, d.ref.namespace)
        except kerrors.UnknownKind:
            live = None
        try:
            res = cluster.resource(d.ref.api_version, d.ref.kind)
            after, _ = cluster.apply_to(res, d.obj, force=force_conflicts, dry_run=True)
        except (kerrors.UnknownKind, kerrors.NotFound):
            after = d.obj  # its namespace or CRD does not exist yet
        changed = _changed_secret_keys(live, after)
        before_text = _text(live, set()) if live is not None else ""
        after_text = _text(after, changed)
        if live is None:
            action = "create"
        elif before_text == after_text:
            action = "unchanged"
        else:
            action = "change"
        name = str(d.ref)
        lines = difflib.unified_diff(
            before_text.splitlines(keepends=True), after_text.splitlines(keepends=True),
            fromfile=f"live {name}", tofile=f"applied {name}",
        )
        return ObjectDiff(d.ref, d.component, action, "" if action == "unchanged" else "".join(lines))

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lab-diff") as pool:
        return list(pool.map(one, desired))


def _changed_secret_keys(before: dict[str, Any] | None, after: dict[str, Any]) -> set[str]:
    if after.get("kind") not in kinds.SECRET_KINDS:
        return set()
    old = (before or {}).get("data") or {}
    new = after.get("data") or {}
    return {k for k, v in new.items() if old.get(k) != v} if before is not None else set()


def _text(obj: dict[str, Any], changed: set[str]) -> str:
    """YAML of `obj` without volatile fields; Secret values masked (marked when changed)."""
    clean = copy.deepcopy(obj)
    meta = clean.get("metadata") or {}
    for key in _VOLATILE_META:
        meta.pop(key, None)
    clean.pop("status", None)
    clean = mask_secrets(clean)  # Secrets nested in Lists, at any depth; the top level below
    if clean.get("kind") in kinds.SECRET_KINDS:
        for key in ("data", "stringData"):
            if isinstance(clean.get(key), dict):
                clean[key] = {
                    k: f"{MASK} (changed)" if k in changed else MASK for k in clean[key]
                }
    return dump(clean)
