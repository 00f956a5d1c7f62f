"""Params inside checks: `{{ params.x }}` in the string values of `spec.checks`, tutorial
checkpoints and services, and `spec.metrics`.

The manifest itself is plain YAML, but what a check looks for often depends on a param — the
namespace, a replica count, the image a `job` check runs (images are always params, so mirrors
and tests can substitute them). Only string values in those sections are templates; they render
in the same sandbox as the manifests, before validation: with the params' defaults when the
catalog loads, and with the resolved params when a run binds the experiment. Rendering never
changes the document's shape, so errors still point at the manifest's lines.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import jinja2

from illm_lab.base.errors import TemplateError
from illm_lab.base.sandbox import make_environment, undefined_message
from illm_lab.base.yamlio import PathKey, format_path

TEMPLATED: tuple[tuple[str, ...], ...] = (
    ("spec", "checks"),
    ("spec", "metrics"),
    ("spec", "tutorial", "checkpoints"),
    ("spec", "tutorial", "services"),
)
_MARKERS = ("{{", "{%")
# Rendered later, by the tutorial session, with the endpoints it opened as well as the params.
_SESSION_TEMPLATES = frozenset({"instructions", "hint"})


def default_params(data: Any) -> dict[str, Any]:
    """The raw defaults of the manifest's params (before validation)."""
    spec = data.get("spec") if isinstance(data, dict) else None
    declared = spec.get("params") if isinstance(spec, dict) else None
    if not isinstance(declared, dict):
        return {}
    return {str(k): v.get("default") for k, v in declared.items() if isinstance(v, dict)}


def needs_binding(data: Any) -> bool:
    return any(_has_template(_section(data, path)) for path in TEMPLATED)


def bind(data: dict[str, Any], params: dict[str, Any], where: Callable[[PathKey], str]) -> dict[str, Any]:
    """A copy of the raw manifest with templated check strings rendered against `params`."""
    if not needs_binding(data):
        return data
    out = copy.deepcopy(data)
    env = make_environment()
    raw_meta = out.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    ctx = {"params": params, "experiment": {k: meta.get(k) for k in ("name", "title", "phase", "type")}}
    for path in TEMPLATED:
        parent = _section(out, path[:-1])
        if isinstance(parent, dict) and path[-1] in parent:
            parent[path[-1]] = _render(parent[path[-1]], path, env, ctx, where)
    return out


def _section(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return any(m in value for m in _MARKERS)
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def _render(
    value: Any, path: PathKey, env: jinja2.Environment, ctx: dict[str, Any], where: Callable[[PathKey], str]
) -> Any:
    if isinstance(value, dict):
        return {
            k: v if (path[:3] == TEMPLATED[2] and k in _SESSION_TEMPLATES)
            else _render(v, (*path, str(k)), env, ctx, where)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_render(v, (*path, i), env, ctx, where) for i, v in enumerate(value)]
    if not isinstance(value, str) or not any(m in value for m in _MARKERS):
        return value
    try:
        return env.from_string(value).render(ctx)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"{format_path(path)}: template syntax error: {exc.message}", where=where(path)
        ) from None
    except jinja2.UndefinedError as exc:
        message = undefined_message(exc, ctx, value)
        raise TemplateError(f"{format_path(path)}: {message}", where=where(path)) from None
    except TemplateError as exc:  # a bound of the sandbox: its own message says which
        raise TemplateError(f"{format_path(path)}: {exc.message}", where=where(path)) from None
    except Exception as exc:  # a failure inside template code is bad input, not a crash
        raise TemplateError(
            f"{format_path(path)}: template failed: {type(exc).__name__}: {str(exc)[:160]}", where=where(path)
        ) from None
