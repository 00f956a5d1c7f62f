"""Validating rendered objects against schemas, offline: the Kubernetes OpenAPI schemas for
built-in kinds, the CRDs of the same render for custom ones.

The built-in schemas are kubernetes-validate's (strict: an unknown field is an error), but the
validator is built here rather than through `kubernetes_validate.validate`, which reports only
the first error, ignores `format` (so `replicas: 2147483648`, an int32, passed) and re-reads the
1.3 MB definitions file for every object. Integer formats are checked as the API server checks
them: `int32` and `int64` ranges. Each validator is built once per kind and version (per CRD
version for custom resources) and validates each shape of object once (`shapes.py` says why
that loses no finding).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from illm_lab.authoring.shapes import ShapeCache

Severity = Literal["error", "warning", "note"]
Add = Callable[[Severity, str, str], None]  # (severity, where, message)
Located = tuple[str, dict[str, Any]]  # (component, object)
KeyPath = tuple[str | int, ...]
# Where a finding about the key path of an object of a component is (`file:line`), or None.
WhereOf = Callable[[str, dict[str, Any], KeyPath], "str | None"]
Violation = tuple[KeyPath, str]  # (key path the violation is about, message)

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
MAX_ERRORS = 5  # per object


class SchemaNotFound(Exception):
    """No built-in schema for this apiVersion and kind in that Kubernetes version."""


class UnknownVersion(Exception):
    """No schemas for that Kubernetes version."""


def _format_checker() -> Any:
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, (low, high) in INT_RANGES.items():
        def in_range(value: object, low: int = low, high: int = high) -> bool:
            return not isinstance(value, int) or isinstance(value, bool) or low <= value <= high

        checker.checks(name)(in_range)
    return checker


@functools.lru_cache(maxsize=4)
def _definitions(schema_dir: str, version: str) -> Any:
    from kubernetes_validate import utils
    from referencing import Resource

    return Resource.from_contents(
        utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version)
    )


@dataclass(frozen=True)
class _Schema:
    """A validator and the shapes of object it has passed."""

    validator: Any
    shapes: ShapeCache

    @classmethod
    def of(cls, validator: Any, resolve: Callable[[str], Any]) -> _Schema:
        schema = validator.schema
        base = schema.get("$id", "") if isinstance(schema, dict) else ""
        formats = validator.format_checker.checkers if validator.format_checker else ()
        return cls(validator, ShapeCache(schema, type(validator).VALIDATORS, formats, resolve, base))


@functools.lru_cache(maxsize=256)
def _validator(version: str, kind: str, api_version: str) -> _Schema | None:
    """The validator of one built-in kind (None when there is no schema for it)."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable

    if name_problem(kind, api_version) is not None:
        return None
    schema_dir = f"v{version}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(
            f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group_version}.json", version
        )
    except FileNotFoundError:
        return None
    registry = _definitions(schema_dir, version) @ (Resource.from_contents(schema) @ Registry())
    resolver = registry.resolver()

    def resolve(uri: str) -> Any:
        try:
            return resolver.lookup(uri).contents
        except Unresolvable as exc:
            raise LookupError(uri) from exc

    validator = jsonschema.Draft202012Validator(schema, registry=registry, format_checker=_format_checker())
    return _Schema.of(validator, resolve)


NO_CRD = "no CRD for it in this experiment"

_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_GROUP = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")  # a DNS subdomain: no empty label, no '..'
_VERSION = re.compile(r"v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
KUBE_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")


def _api_version_ok(api_version: str) -> bool:
    group, slash, version = api_version.rpartition("/")
    if not _VERSION.fullmatch(version):
        return False
    return not slash or (len(group) <= 253 and _GROUP.fullmatch(group) is not None)


def name_problem(kind: str, api_version: str) -> str | None:
    """Why `kind` or `apiVersion` cannot be a Kubernetes type name, or None. Checked before any
    schema lookup, since both are parts of the schema file's path (`../` must never get there)."""
    if not _KIND.fullmatch(kind):
        return f"kind {kind[:80]!r} is not a valid kind name (letters and digits, starting with a letter)"
    if not _api_version_ok(api_version):
        return f"apiVersion {api_version[:80]!r} is not <group>/<version> or <version>"
    return None


@functools.lru_cache(maxsize=16)
def schema_version(kube_version: str) -> str:
    """The newest schema version not newer than `kube_version` (kubernetes-validate's rule);
    `kube_version` must be `<major>.<minor>[.<patch>]`."""
    from kubernetes_validate import utils

    if not KUBE_VERSION.fullmatch(kube_version):  # it names a schema folder: never a path
        raise UnknownVersion(kube_version)
    wanted = utils.major_minor(kube_version.removeprefix("v"))
    if wanted > utils.latest_version():
        raise UnknownVersion(kube_version)
    older = [v for v in utils.all_versions() if utils.major_minor(v) <= wanted]
    if not older or not re.fullmatch(r"\d+\.\d+", wanted):
        raise UnknownVersion(kube_version)
    return str(older[-1])


def builtin_errors(obj: dict[str, Any], kube_version: str) -> list[Violation]:
    """(key path, message) of the first few schema violations of a built-in object."""
    from kubernetes_validate.utils import VersionNotSupportedError

    try:
        validator = _validator(schema_version(kube_version), str(obj["kind"]), str(obj["apiVersion"]))
    except VersionNotSupportedError:
        raise UnknownVersion(kube_version) from None
    if validator is None:
        raise SchemaNotFound(obj["apiVersion"], obj["kind"])
    return _violations(validator, obj)


def _violations(schema: _Schema, obj: dict[str, Any]) -> list[Violation]:
    """`_errors`, skipped for an object of a shape that passed before."""
    shape = schema.shapes.shape(obj)
    if shape is not None and shape in schema.shapes.passed:
        return []
    errors = _errors(schema.validator, obj)
    if not errors and shape is not None:
        schema.shapes.passed.add(shape)
    return errors


def _errors(validator: Any, obj: dict[str, Any]) -> list[Violation]:
    found = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    out: list[Violation] = []
    for error in found[:MAX_ERRORS]:
        message = error.message
        if error.validator == "format" and error.validator_value in INT_RANGES:
            low, high = INT_RANGES[error.validator_value]
            message = f"{error.instance} is out of range for an {error.validator_value} ({low} to {high})"
        out.append((tuple(error.absolute_path), message[:300]))
    return out


def dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path) or "(root)"


def _culprit(obj: dict[str, Any], path: KeyPath, message: str) -> KeyPath:
    """The key a violation is about: for an unexpected property, that property (its line is
    where the typo is), else the path itself."""
    node: Any = obj
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return path
    if isinstance(node, dict):
        named = [k for k in node if isinstance(k, str) and f"'{k}' w" in message]
        if len(named) == 1:
            return (*path, named[0])
    return path


def check(
    objects: list[Located], kube_version: str, add: Add, ident: Callable[[dict[str, Any]], str],
    where_of: WhereOf | None = None, installed_by: Mapping[str, str] | None = None,
) -> None:
    """Validate every object: custom resources against the CRDs among `objects`, built-in
    kinds against the OpenAPI schemas; what cannot be validated is a note saying so — naming,
    from `installed_by` (component -> who), the dependency that may install its kind at run
    time (`rendering/installers.py`). A violation is reported at `where_of`'s template line
    when it can name one."""
    import jsonschema

    crd_schemas = _crd_schemas([o for _c, o in objects])
    crd_validators: dict[tuple[str, str], _Schema] = {}
    for comp, obj in objects:
        where = f"component {comp}"
        key = (obj["apiVersion"], obj["kind"])
        problem = name_problem(str(obj["kind"]), str(obj["apiVersion"]))
        if problem is not None:  # never looked up: these become parts of a schema file's path
            add("error", where, f"{ident(obj)}: {problem}")
            continue
        if key in crd_schemas:
            # CRD schemas are OpenAPI v3.0 (draft-4 style `exclusiveMaximum: true`); some carry
            # patterns Python's re cannot compile. Such a schema is reported, never a crash.
            if key not in crd_validators:
                validator = jsonschema.Draft4Validator(crd_schemas[key], format_checker=_format_checker())
                crd_validators[key] = _Schema.of(validator, _no_references)
            try:
                errors = _violations(crd_validators[key], obj)
            except (re.error, jsonschema.exceptions.SchemaError, jsonschema.exceptions.UnknownType,
                    TypeError) as exc:
                add("note", where, f"{ident(obj)} not validated: its CRD schema cannot be "
                    f"evaluated here ({type(exc).__name__}: {str(exc)[:120]})")
                continue
        else:
            try:
                errors = builtin_errors(obj, kube_version)
            except SchemaNotFound:
                later = (installed_by or {}).get(comp)
                at_run_time = (f" — lab apply waits for its kind, which {later} may install at "
                               "run time") if later else ""
                add("note", where, f"{ident(obj)} ({obj['apiVersion']}) not validated{at_run_time}: "
                    f"no schema for it in Kubernetes {kube_version} and {NO_CRD}")
                continue
        for path, message in errors:
            at = where_of(comp, obj, _culprit(obj, path, message)) if where_of else None
            add("error", at or where, f"{ident(obj)}: {dotted(path)}: {message}")


def _no_references(uri: str) -> Any:
    """CRD schemas are structural: the API server refuses a `$ref` in them, so none is followed
    (the shapes keep every value under one)."""
    raise LookupError(uri)


def _crd_schemas(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        for version in spec.get("versions") or []:
            schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema")
            if kind and isinstance(schema, dict):
                out[(f"{spec.get('group')}/{version.get('name')}", kind)] = _open_metadata(schema)
    return out


def _open_metadata(schema: dict[str, Any]) -> dict[str, Any]:
    """CRD schemas rarely describe apiVersion/kind/metadata; the API server adds them."""
    props = dict(schema.get("properties") or {})
    for key in ("apiVersion", "kind", "metadata"):
        props.setdefault(key, {})
    return {**schema, "properties": props}
