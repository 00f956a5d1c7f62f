"""Experiment parameters: defaults < `--values FILE` < `--set key=value`.

`--set` keys may be dotted (`image.tag=1.2`) to reach into an `object` param. A `--set` value is
read as a YAML scalar (so `replicas=3` is a number), except that a `string` param always gets the
text as typed. Every error names the flag or the file that caused it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from illm_lab.base.errors import UsageError
from illm_lab.base.yamlio import MAX_DEPTH, load_file, load_scalar
from illm_lab.model.experiment import Experiment, param_type_ok

MASK = "***"
MAX_SET_DEPTH = MAX_DEPTH  # as deep as a values file may nest


def resolve(
    experiment: Experiment,
    values_files: list[Path] | None = None,
    sets: list[str] | None = None,
) -> dict[str, Any]:
    declared = experiment.spec.params
    params: dict[str, Any] = {name: copy.deepcopy(p.default) for name, p in declared.items()}
    origin: dict[str, str] = {}  # param -> where its value came from, for the type errors below
    for path in values_files or []:
        doc = load_file(path, what="values file")
        if not isinstance(doc.data, dict):
            raise UsageError("a values file must be a mapping of param names", where=f"{path}:1")
        for key, value in doc.data.items():
            where = f"{path}:{doc.line_of((str(key),)) or 1}"
            if key not in declared:
                raise UsageError(f"unknown param {str(key)[:60]!r}{_known(experiment)}", where=where)
            params[key] = _merge(params.get(key), value)
            origin[key] = where
    for item in sets or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item[:80]!r}: expected key=value")
        if not _is_text(item):  # bytes that are not UTF-8 reach Python as lone surrogates
            raise UsageError(f"--set {key[:60]!r}: the value is not valid UTF-8 text")
        top, *rest = _key_path(key)
        if top not in declared:
            raise UsageError(f"--set {key[:60]}: unknown param {top[:60]!r}{_known(experiment)}")
        origin[top] = f"--set {key[:60]}"
        kind = declared[top].type
        parsed: Any = raw if (kind == "string" and not rest) else _scalar(raw)
        if rest:
            if kind != "object":
                raise UsageError(f"--set {key[:60]}: param {top!r} is a {kind}, not an object")
            target = params.get(top)
            if not isinstance(target, dict):
                target = {}
                params[top] = target
            for part in rest[:-1]:
                nxt = target.get(part)
                if not isinstance(nxt, dict):
                    nxt = {}
                    target[part] = nxt
                target = nxt
            target[rest[-1]] = parsed
        else:
            params[top] = parsed
    for name, spec in declared.items():
        value = params.get(name)
        source = origin.get(name)
        if value is None:
            raise UsageError(f"param {name!r} has no default: give it with --set {name}=...", where=source)
        if not param_type_ok(spec.type, value):
            raise UsageError(
                f"param {name!r} must be of type {spec.type}, got {_show(spec.secret, value)}", where=source
            )
        if spec.enum is not None and value not in spec.enum:
            raise UsageError(
                f"param {name!r} must be one of {spec.enum}, got {_show(spec.secret, value)}", where=source
            )
    return params


def _key_path(key: str) -> list[str]:
    """`image.tag` -> ["image", "tag"], refusing empty segments and absurd nesting (a
    5,000-level key would build a value nothing can render or copy)."""
    parts = key.split(".", MAX_SET_DEPTH)
    if len(parts) > MAX_SET_DEPTH:
        raise UsageError(f"--set {key[:60]}...: nested deeper than {MAX_SET_DEPTH} levels")
    if "" in parts:
        raise UsageError(f"--set {key[:60]}: empty key segment (write a.b, not a..b or a.)")
    return parts


def masked(experiment: Experiment, params: dict[str, Any]) -> dict[str, Any]:
    """A copy of `params` safe to print or record: secret params replaced by a mask."""
    declared = experiment.spec.params
    return {k: (MASK if k in declared and declared[k].secret else v) for k, v in params.items()}


def _scalar(raw: str) -> Any:
    """`3` -> 3, `true` -> True, `1.5` -> 1.5; anything else stays the text as typed."""
    return load_scalar(raw)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = _merge(base.get(k), v)
        return out
    return override


def _show(secret: bool, value: Any) -> str:
    return MASK if secret else repr(value)[:60]


def _known(experiment: Experiment) -> str:
    names = sorted(experiment.spec.params)
    return f" (known: {', '.join(names)})" if names else " (this experiment has no params)"
