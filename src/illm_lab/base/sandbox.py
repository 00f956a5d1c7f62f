"""The sandboxed Jinja2 environment every template of lab renders in.

Templates are untrusted input (an experiment may come from anyone), so they run in Jinja2's
`ImmutableSandboxedEnvironment` with `StrictUndefined`: no Python internals, no mutation of the
context, no undefined name silently rendering as an empty string. They see only what the caller
passes (params, experiment metadata) — never the process environment — and can include only
files inside their own experiment folder.

Rendering is bounded too, because a template can be a denial of service without touching
anything (`{% for i in range(10**5) %}{% for j in range(10**5) %}…`, `{{ 'x' * 10**9 }}`):
`range()` is capped, `*`, `+`, `**`, `%` and `~` refuse results over a size limit before
building them, filter and call results are measured, and every render runs under a wall-clock
budget and an output cap checked while it generates. Any of these stops the render with one
`TemplateError`: `<template>: rendering exceeded <limit>` (exit 2).
"""

from __future__ import annotations

import base64
import contextvars
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import jinja2
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat
from jinja2.sandbox import ImmutableSandboxedEnvironment

from illm_lab.base.errors import TemplateError
from illm_lab.base.yamlio import dump, read_text


@dataclass(frozen=True)
class Limits:
    """What one render of one template may use."""

    seconds: float = 10.0  # wall clock
    output: int = 16 * 1024 * 1024  # characters rendered
    value: int = 16 * 1024 * 1024  # length of one string or list built in template code
    range: int = 100_000  # items of one range()
    int_bits: int = 64 * 1024  # size of one integer built in template code


class _Exceeded(Exception):
    """A limit was hit; the template's render turns it into one TemplateError."""

    def __init__(self, limit: str) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass
class _Budget:
    limits: Limits
    deadline: float

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Exceeded(f"{self.limits.seconds:g} s")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("lab_render_budget", default=None)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _size_name(chars: int) -> str:
    return f"{chars // (1024 * 1024)} MB" if chars >= 1024 * 1024 else f"{chars} characters"


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


class _BoundedRange(Sequence[int]):
    """`range()` in templates: at most `Limits.range` items, the time budget checked as it runs."""

    def __init__(self, rng: range) -> None:
        self._rng = rng

    def __len__(self) -> int:
        return len(self._rng)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        return self._rng[index]

    def __iter__(self) -> Iterator[int]:
        for i, item in enumerate(self._rng):
            if i % 256 == 0:
                _tick()
            yield item

    def __repr__(self) -> str:
        return repr(list(self._rng)) if len(self._rng) <= 20 else repr(self._rng)


class _BoundedCodeGenerator(CodeGenerator):
    """Routes `~` (string concatenation) through the environment, so its result is bounded."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile or frame.eval_ctx.autoescape:
            super().visit_Concat(node, frame)
            return
        self.write("environment.lab_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


_WIDTH = re.compile(r"\d+")


class _BoundedTemplate(jinja2.Template):
    """`render()` generates, counting characters and checking the time budget as it goes."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        limits: Limits = getattr(self.environment, "lab_limits", Limits())
        token = _BUDGET.set(_Budget(limits, time.monotonic() + limits.seconds))
        try:
            parts: list[str] = []
            size = 0
            for chunk in self.generate(*args, **kwargs):
                size += len(chunk)
                if size > limits.output:
                    raise _Exceeded(f"{_size_name(limits.output)} of output")
                _tick()
                parts.append(chunk)
            return "".join(parts)
        except _Exceeded as exc:
            where = self.filename or self.name or "template"
            raise TemplateError(f"rendering exceeded {exc.limit}", where=where) from None
        finally:
            _BUDGET.reset(token)


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with bounds on time, output and the size of values built in template code."""

    code_generator_class = _BoundedCodeGenerator
    template_class = _BoundedTemplate
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self, limits: Limits, **options: Any) -> None:
        super().__init__(**options)
        self.lab_limits = limits
        self.globals["range"] = self._range

    def _range(self, *args: int) -> _BoundedRange:
        rng = range(*args)
        if len(rng) > self.lab_limits.range:
            raise _Exceeded(f"range of {self.lab_limits.range} items")
        return _BoundedRange(rng)

    def _check(self, value: Any) -> Any:
        if isinstance(value, str | bytes | list | tuple | dict) and len(value) > self.lab_limits.value:
            raise _Exceeded(f"{_size_name(self.lab_limits.value)} for one value")
        if isinstance(value, int) and value.bit_length() > self.lab_limits.int_bits:
            raise _Exceeded(f"{self.lab_limits.int_bits} bits for one integer")
        return value

    def _refuse_wide_format(self, fmt: Any) -> None:
        """A width or precision in a format string builds that many characters: refuse big ones."""
        if isinstance(fmt, str) and any(int(m) > self.lab_limits.value for m in _WIDTH.findall(fmt)):
            raise _Exceeded(f"{_size_name(self.lab_limits.value)} for one value")

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        limit = self.lab_limits
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, str | bytes | list | tuple) and isinstance(n, int)
                if sized and len(seq) * max(n, 0) > limit.value:
                    raise _Exceeded(f"{_size_name(limit.value)} for one value")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            if max(abs(left).bit_length() - 1, 0) * right > limit.int_bits:
                raise _Exceeded(f"{limit.int_bits} bits for one integer")
        elif operator == "+" and _sized(left) and _sized(right):
            if len(left) + len(right) > limit.value:
                raise _Exceeded(f"{_size_name(limit.value)} for one value")
        elif operator == "%":
            self._refuse_wide_format(left)
        return self._check(super().call_binop(context, operator, left, right))

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        limit = __self.lab_limits.value
        # str.format comes wrapped by the sandbox (its `__wrapped__` is the bound method)
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str | bytes | list) and any(
            isinstance(a, int) and a > limit for a in (*args, *kwargs.values())
        ):  # str.ljust(10**9), str.zfill, str.center …
            raise _Exceeded(f"{_size_name(limit)} for one value")
        if getattr(__obj, "__name__", "") in ("format", "format_map"):
            __self._refuse_wide_format(owner)
        return __self._check(super().call(__context, __obj, *args, **kwargs))

    def lab_concat(self, parts: Sequence[Any]) -> str:
        texts = [str(p) for p in parts]
        if sum(len(t) for t in texts) > self.lab_limits.value:
            raise _Exceeded(f"{_size_name(self.lab_limits.value)} for one value")
        _tick()
        return "".join(texts)


def _bounded_filter(env: _BoundedEnvironment, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose integer arguments (widths, counts) and result are held to the limits."""
    limit = env.lab_limits.value
    first = 2 if hasattr(func, "jinja_pass_arg") else 1  # the value filtered, after any context

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        options = (*args[first:], *kwargs.values())
        if any(isinstance(a, int) and not isinstance(a, bool) and a > limit for a in options):
            raise _Exceeded(f"{_size_name(limit)} for one value")
        if name == "format" and len(args) >= first:
            env._refuse_wide_format(args[first - 1])
        return env._check(func(*args, **kwargs))

    for marker in ("jinja_pass_arg",):  # keep pass_context / pass_environment / pass_eval_context
        if hasattr(func, marker):
            setattr(bounded, marker, getattr(func, marker))
    bounded.__name__ = getattr(func, "__name__", name)
    return bounded


class _FolderLoader(jinja2.BaseLoader):
    """Loads templates from one folder only; `..`, absolute paths and symlinks out are refused."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Any]:
        candidate = (self.root / template).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            raise jinja2.TemplateNotFound(f"{template} (inside the experiment folder)")
        text = read_text(candidate, what="template")
        mtime = candidate.stat().st_mtime
        return text, str(candidate), lambda: candidate.stat().st_mtime == mtime


def _b64encode(value: Any) -> str:
    return base64.b64encode(str(value).encode()).decode()


def _to_yaml(value: Any) -> str:
    return dump(value).rstrip("\n")


# What YAML does not take as itself in a quoted scalar: non-printable (DEL, C1 controls, U+FFFE/F,
# surrogates) or a line break that would be folded (NEL, U+2028, U+2029).
_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]")


def _json(value: Any, **options: Any) -> str:
    """JSON that is valid YAML too, for `quote` and `tojson`: a character beyond U+FFFF is
    written as itself (JSON's surrogate-pair escape "\\ud83c\\udf89" is refused by YAML), and the
    few characters YAML would refuse or fold are escaped (JSON leaves them raw)."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def make_environment(
    folder: Path | None = None, *, limits: Limits | None = None
) -> ImmutableSandboxedEnvironment:
    """The sandbox; with `folder`, templates may include files from inside it (and only it).
    `limits` bounds each render (defaults: `Limits()`)."""
    env = _BoundedEnvironment(
        limits or Limits(),
        loader=_FolderLoader(folder) if folder is not None else None,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["b64encode"] = _b64encode
    env.filters["toyaml"] = _to_yaml
    env.filters["tojson"] = lambda v: _json(v, sort_keys=True)
    env.filters["quote"] = lambda v: _json(str(v))
    for name, func in list(env.filters.items()):
        env.filters[name] = _bounded_filter(env, name, func)
    return env


_NO_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'")


def undefined_message(exc: jinja2.UndefinedError, ctx: dict[str, Any], source: str | None) -> str:
    """What an undefined name in a template means to its author: a param that does not exist
    (with the nearest one declared), rather than Jinja's `'dict object' has no attribute`. Said
    only when certain: the template's `source` reads the name as `params.<name>` and as nothing
    else."""
    import difflib

    found = _NO_ATTRIBUTE.search(exc.message or "")
    params = ctx.get("params")
    if found is None or source is None or not isinstance(params, dict) or found.group(1) in params:
        return f"undefined: {exc.message}"
    name = re.escape(found.group(1))
    as_param = re.findall(rf"\bparams\s*(?:\.\s*{name}\b|\[\s*['\"]{name}['\"]\s*\])", source)
    as_any = re.findall(rf"(?:\.\s*{name}\b|\[\s*['\"]{name}['\"]\s*\])", source)
    if not as_param or len(as_param) != len(as_any):
        return f"undefined: {exc.message}"
    close = difflib.get_close_matches(found.group(1), [str(k) for k in params], n=1)
    return f"unknown param {found.group(1)}" + (f" — did you mean {close[0]}?" if close else "")
