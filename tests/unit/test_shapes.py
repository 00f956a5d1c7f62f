"""Objects of one shape are validated once, and no finding is lost for it: values stay in the
shape wherever the schema constrains them, and an object of a shape that failed is validated in
full."""

from __future__ import annotations

import datetime
from typing import Any

import jsonschema
import pytest

from illm_lab.authoring import openapi
from illm_lab.authoring.shapes import ShapeCache


def _configmap(name: str, **data: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "demo"},
            "data": data}


def _deployment(replicas: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "a"}},
                     "template": {"metadata": {"labels": {"app": "a"}},
                                  "spec": {"containers": [{"name": "app", "image": "x"}]}}}}


def _shapes(kind: str, api_version: str) -> ShapeCache:
    schema = openapi._validator(openapi.schema_version("1.31"), kind, api_version)
    assert schema is not None
    return schema.shapes


def _cache(schema: dict[str, Any]) -> ShapeCache:
    validator = jsonschema.Draft4Validator(schema, format_checker=openapi._format_checker())
    return openapi._Schema.of(validator, openapi._no_references).shapes


def test_objects_that_differ_in_free_values_share_a_shape_and_pass_once() -> None:
    shapes = _shapes("ConfigMap", "v1")
    first, other = _configmap("a", index="1", level="info"), _configmap("b", index="2", level="debug")
    assert shapes.shape(first) == shapes.shape(other)
    assert openapi.builtin_errors(first, "1.31") == []
    assert shapes.shape(first) in shapes.passed
    assert openapi.builtin_errors(other, "1.31") == []


def test_a_value_of_another_type_is_another_shape_and_is_reported() -> None:
    shapes = _shapes("ConfigMap", "v1")
    good, bad = _configmap("a", index="7000"), _configmap("b", index=7000)
    assert shapes.shape(good) != shapes.shape(bad)
    assert openapi.builtin_errors(good, "1.31") == []
    assert openapi.builtin_errors(bad, "1.31") == [
        (("data", "index"), "7000 is not of type 'string', 'null'")]
    assert openapi.builtin_errors(bad, "1.31") == openapi.builtin_errors(bad, "1.31")  # never cached


@pytest.mark.parametrize(("one", "other"), [(1, True), (1, 1.0), (2.0, 2.5), ("1", 1)])
def test_types_are_told_apart_where_python_finds_values_equal(one: Any, other: Any) -> None:
    shapes = _shapes("ConfigMap", "v1")
    assert shapes.shape(_configmap("a", index=one)) != shapes.shape(_configmap("a", index=other))


def test_a_checked_format_keeps_the_value() -> None:
    assert openapi.builtin_errors(_deployment(3), "1.31") == []
    assert openapi.builtin_errors(_deployment(2**31), "1.31") == [
        (("spec", "replicas"), "2147483648 is out of range for an int32 (-2147483648 to 2147483647)")]
    shapes = _shapes("Deployment", "apps/v1")
    assert shapes.shape(_deployment(3)) != shapes.shape(_deployment(4))
    assert shapes.shape(_deployment(3)) == shapes.shape(_deployment(3))


def test_enum_pattern_and_length_keep_values_free_places_do_not() -> None:
    shapes = _cache({"type": "object", "properties": {
        "size": {"type": "string", "enum": ["small", "large"]},
        "code": {"type": "string", "pattern": "^[A-Z]+$"},
        "note": {"type": "string", "maxLength": 3},
        "free": {"type": "string"},
    }})
    base = {"size": "small", "code": "AB", "note": "ok", "free": "x"}
    assert shapes.shape(base) == shapes.shape({**base, "free": "y"})
    for key, value in (("size", "huge"), ("code", "ab"), ("note", "long")):
        assert shapes.shape(base) != shapes.shape({**base, key: value}), key


def test_keywords_not_modelled_keep_the_values_under_them() -> None:
    shapes = _cache({"type": "object", "properties": {
        "port": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
        "linked": {"$ref": "#/definitions/x"},
    }})
    assert shapes.shape({"port": 1}) != shapes.shape({"port": 2})
    assert shapes.shape({"pair": ["a", 1]}) != shapes.shape({"pair": ["b", 1]})
    assert shapes.shape({"linked": 1}) != shapes.shape({"linked": 2})


def test_a_place_no_schema_reaches_is_reduced_to_nothing() -> None:
    shapes = _cache({"type": "object", "properties": {"spec": {"type": "object"}}})
    assert shapes.shape({"spec": {"a": 1}}) == shapes.shape({"spec": {"a": "x"}})
    assert shapes.shape({"spec": {"a": 1}}) != shapes.shape({"spec": {"b": 1}})


def test_a_value_json_does_not_have_leaves_the_object_without_a_shape() -> None:
    shapes = _shapes("ConfigMap", "v1")
    assert shapes.shape(_configmap("a", when=datetime.date(2024, 1, 1))) is None
    assert shapes.shape({**_configmap("a"), 1: "x"}) is None


def test_every_crd_finding_is_reported_after_valid_objects_of_the_same_structure() -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"},
                    "scope": "Namespaced", "versions": [{"name": "v1", "served": True, "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                        "type": "object", "properties": {
                            "size": {"type": "string", "enum": ["small", "large"]},
                            "count": {"type": "integer", "maximum": 3}}}}}}}]}}

    def widget(i: int, size: str, count: int) -> dict[str, Any]:
        return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": f"w{i}"},
                "spec": {"size": size, "count": count}}

    widgets = [widget(i, ["small", "large", "huge"][i % 3], i % 5) for i in range(30)]
    found: list[str] = []
    openapi.check([("c", crd), *(("c", w) for w in widgets)], "1.31",
                  lambda _s, _w, message: found.append(message), lambda o: o["metadata"]["name"])
    expected = [f"w{i}: spec.size: 'huge' is not one of ['small', 'large']" for i in range(2, 30, 3)]
    expected += [f"w{i}: spec.count: {i % 5} is greater than the maximum of 3" for i in range(30) if i % 5 == 4]
    assert sorted(found) == sorted(expected)
