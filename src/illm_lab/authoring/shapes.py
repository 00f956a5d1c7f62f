"""Objects of one shape are validated once.

A template that loops emits thousands of objects that differ only in names and data, and
validating each against its OpenAPI schema cost more than everything else lint does with it
(issue #17: 15,000 ConfigMaps). Whether an object passes depends on its structure — its keys,
the length of each list, the JSON type of each value — and on the values themselves only where
a schema constrains values (`enum`, `const`, `pattern`, lengths, ranges, a `format` the format
checker checks) or uses a keyword not modelled here (`oneOf`, `anyOf`, `allOf`, `not`,
`patternProperties`, an embedded `$id`, …). So the shape of an object is its structure with each
value kept as it is wherever a schema that may apply there constrains it, reduced to its type
elsewhere, and to nothing where no schema reaches. Two objects of one shape are both valid or
both invalid: a shape that passed once passes again without validation.

Only passing is remembered. An object whose shape failed, or that has no shape (a YAML value of
a type JSON does not have, a reference that cannot be followed makes the values kept instead),
is validated in full, so every finding still names its own values and its own line.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin

Shape = Hashable
Node = tuple[Any, str]  # (a schema, the base URI its `$ref` is relative to)
Resolve = Callable[[str], Any]  # absolute URI -> the schema there; LookupError when there is none

# Keywords whose verdict depends only on what a shape keeps: keys, list lengths, value types.
_STRUCTURAL = frozenset({
    "type", "properties", "additionalProperties", "required", "items", "$ref",
    "minItems", "maxItems", "minProperties", "maxProperties",
})
_FREE = "*"  # a place no schema reaches: anything there passes
_TYPES = {str: "string", bool: "boolean", int: "int", type(None): "null"}


class _Unshaped(Exception):
    """A value of a type JSON does not have (a date, bytes): validate the object in full."""


def _type_of(value: Any) -> str:
    if type(value) is float:  # `integer` accepts 2.0 in newer drafts: integral floats apart
        return "integral float" if value.is_integer() else "float"
    name = _TYPES.get(type(value))
    if name is None:
        raise _Unshaped(type(value).__name__)
    return name


def _key(key: Any) -> str:
    if type(key) is not str:
        raise _Unshaped(type(key).__name__)
    return key


def _exact(value: Any) -> Shape:
    """The value itself, types told apart (`1`, `1.0` and `True` are equal in Python)."""
    if type(value) is dict:
        return ("{", *((_key(k), _exact(v)) for k, v in value.items()))
    if type(value) is list:
        return ("[", *(_exact(v) for v in value))
    return (_type_of(value), value)


@dataclass
class _Plan:
    """What the schemas that may apply at one place of an object look at in the value there."""

    origin: tuple[Node, ...]  # kept so the ids the plan is cached under stay theirs
    nodes: tuple[Node, ...] = ()  # `origin` with every `$ref` followed
    exact: bool = False
    children: dict[str, _Plan] = field(default_factory=dict)
    items: _Plan | None = None


class ShapeCache:
    """The shapes one validator has passed, and how to take an object's shape for it.

    `keywords` are those the validator evaluates (any other is inert), `formats` those its
    format checker checks; `resolve` follows a `$ref` given as an absolute URI."""

    def __init__(self, schema: Any, keywords: Iterable[str], formats: Iterable[str],
                 resolve: Resolve, base: str = "") -> None:
        self._keywords = frozenset(keywords)
        self._formats = frozenset(formats)
        self._resolve = resolve
        self._schema = schema
        self._plans: dict[tuple[tuple[int, str], ...], _Plan] = {}
        self._root = self._plan(((schema, base),))
        self.passed: set[Shape] = set()

    def shape(self, obj: Any) -> Shape | None:
        """The shape of `obj`, or None when it has none."""
        try:
            return self._shape(self._root, obj)
        except (_Unshaped, RecursionError):
            return None

    def _shape(self, plan: _Plan, value: Any) -> Shape:
        if not plan.nodes:
            return _FREE
        if plan.exact:
            return _exact(value)
        if type(value) is dict:
            return ("{", *((_key(k), self._shape(self._child(plan, k), v)) for k, v in value.items()))
        if type(value) is list:
            items = plan.items if plan.items is not None else self._items(plan)
            return ("[", *(self._shape(items, v) for v in value))
        return _type_of(value)

    def _child(self, plan: _Plan, key: str) -> _Plan:
        child = plan.children.get(key)
        if child is None:
            nodes: list[Node] = []
            for schema, base in plan.nodes:
                props = schema.get("properties")
                if isinstance(props, dict) and key in props:
                    nodes.append((props[key], base))
                elif isinstance(schema.get("additionalProperties"), dict):
                    nodes.append((schema["additionalProperties"], base))
            child = plan.children[key] = self._plan(tuple(nodes))
        return child

    def _items(self, plan: _Plan) -> _Plan:
        nodes = tuple((s["items"], base) for s, base in plan.nodes if isinstance(s.get("items"), dict))
        plan.items = self._plan(nodes)
        return plan.items

    def _plan(self, origin: tuple[Node, ...]) -> _Plan:
        ident = tuple((id(schema), base) for schema, base in origin)
        plan = self._plans.get(ident)
        if plan is None:
            plan = _Plan(origin)
            try:
                plan.nodes = self._expand(origin)
                plan.exact = any(self._constrains(schema) for schema, _base in plan.nodes)
            except (LookupError, TypeError):  # not followed: keep every value there
                plan.nodes, plan.exact = origin, True
            self._plans[ident] = plan
        return plan

    def _expand(self, origin: tuple[Node, ...]) -> tuple[Node, ...]:
        """The schemas with every `$ref` followed: they apply along with the rest. `true`
        (anything passes) and `false` (nothing does, whatever the value) look at no value."""
        out: list[Node] = []
        todo = list(origin)
        seen: set[tuple[int, str]] = set()
        while todo:
            schema, base = todo.pop()
            if isinstance(schema, bool) or (id(schema), base) in seen:
                continue
            if not isinstance(schema, dict):
                raise TypeError(f"not a schema: {type(schema).__name__}")
            if schema is not self._schema and ("$id" in schema or "id" in schema):
                raise LookupError("an embedded resource changes the base of its references")
            seen.add((id(schema), base))
            out.append((schema, base))
            ref = schema.get("$ref")
            if isinstance(ref, str):
                target = urljoin(base, ref)
                todo.append((self._resolve(target), urldefrag(target)[0]))
        return tuple(out)

    def _constrains(self, schema: dict[str, Any]) -> bool:
        """Whether `schema` may pass one value and fail another of the same structure and type."""
        if isinstance(schema.get("items"), list):  # draft 4's tuple form: per position
            return True
        for keyword in schema:
            if keyword not in self._keywords or keyword in _STRUCTURAL:
                continue
            if keyword == "format" and schema["format"] not in self._formats:
                continue  # the format checker does not check it: inert
            return True
        return False
