"""Inventory labels and the applied-config hash: how lab recognises its own objects.

Three labels on the *top-level* metadata of every object lab applies — never in selectors or pod
templates, where they would change a workload's identity or roll its pods:

- `lab.illm.io/experiment` — the experiment's name;
- `lab.illm.io/component` — the component that rendered the object (`namespaces` for the
  experiment's Namespace objects);
- `lab.illm.io/instance` — the deployed instance (by default the experiment name): stable across
  runs, so applying the same rendering twice gives byte-identical objects and the second apply
  is a no-op. Per-run ids live in the ledger, never on objects.

The annotation `lab.illm.io/applied-hash` holds a hash of the whole configuration lab applied
(labels included, the annotation itself excluded). A re-apply compares it with the hash of the new
configuration to know, without a write, that lab's intent has not changed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from illm_lab.base.errors import UsageError

LABEL_EXPERIMENT = "lab.illm.io/experiment"
LABEL_COMPONENT = "lab.illm.io/component"
LABEL_INSTANCE = "lab.illm.io/instance"
ANNOTATION_HASH = "lab.illm.io/applied-hash"
NAMESPACES_COMPONENT = "namespaces"

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Inventory:
    """Who owns a set of objects: an experiment and one deployed instance of it."""

    experiment: str
    instance: str

    def __post_init__(self) -> None:
        for value in (self.experiment, self.instance):
            if len(value) > 63 or not _LABEL_VALUE.match(value):
                raise ValueError(f"{value!r} is not a valid label value")

    @property
    def selector(self) -> str:
        return f"{LABEL_INSTANCE}={self.instance}"

    def labels(self, component: str) -> dict[str, str]:
        return {
            LABEL_EXPERIMENT: self.experiment,
            LABEL_COMPONENT: component,
            LABEL_INSTANCE: self.instance,
        }


_INSTANCE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def instance_id(experiment: str, name: str | None = None) -> str:
    """The stable instance id: the experiment name, or `<experiment>-<name>` for a second copy.

    `name` comes from `--instance`; it becomes part of labels, cluster and file names, so it
    must be a DNS label (UsageError naming the flag otherwise)."""
    if not name:
        return experiment
    if len(name) > 40 or not _INSTANCE_NAME.match(name):
        raise UsageError(
            f"--instance {name[:40]!r}: must be at most 40 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return f"{experiment}-{name}"[:63].rstrip("-._")


def stamp(obj: dict[str, Any], inventory: Inventory, component: str) -> dict[str, Any]:
    """A copy of `obj` with the inventory labels and the applied-config hash annotation."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **inventory.labels(component)}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != ANNOTATION_HASH}
    meta["annotations"] = {**annotations, ANNOTATION_HASH: config_hash(out)}
    return out


def config_hash(obj: dict[str, Any]) -> str:
    """A hash of an object's configuration (the hash annotation and server fields excluded)."""
    clean = copy.copy(obj)
    meta = dict(clean.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != ANNOTATION_HASH}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    for key in ("resourceVersion", "uid", "generation", "creationTimestamp", "managedFields"):
        meta.pop(key, None)
    clean["metadata"] = meta
    clean.pop("status", None)
    return digest(clean)


def digest(value: Any) -> str:
    """A short, stable content hash of any JSON value."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def applied_hash(live: dict[str, Any]) -> str | None:
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(ANNOTATION_HASH)
    return str(value) if value else None
