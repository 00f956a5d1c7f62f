"""The YAML reader: line map, refusals, and deterministic dumping."""

from __future__ import annotations

from pathlib import Path

import pytest

from illm_lab.base.errors import InputError
from illm_lab.base.yamlio import dump, format_path, load_all, load_file


def test_line_map_points_at_keys_and_items() -> None:
    doc = load_all("a:\n  b:\n    - x\n    - y: 1\n")[0]
    assert doc.line_of(("a",)) == 1
    assert doc.line_of(("a", "b", 1)) == 4
    assert doc.line_of(("a", "b", 1, "y")) == 4
    assert doc.line_of(("a", "b", 1, "y", "deeper")) == 4


def test_format_path() -> None:
    assert format_path(("spec", "checks", 0, "timeout")) == "spec.checks[0].timeout"


def test_duplicate_keys_refused_with_both_lines() -> None:
    with pytest.raises(InputError, match=r"duplicate key 'a' \(first at line 1\)") as info:
        load_all("a: 1\nb: 2\na: 3\n", source="f.yaml")
    assert info.value.where == "f.yaml:3"


def test_merge_keys_are_allowed() -> None:
    doc = load_all("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")[0]
    assert doc.data["other"] == {"x": 1, "y": 2}


def test_a_few_aliases_are_fine_a_bomb_is_not() -> None:
    assert load_all("a: &a [1, 2]\nb: *a\nc: *a\n")[0].data["c"] == [1, 2]
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(InputError, match="aliases"):
        load_all(bomb)


def test_size_limit_and_non_utf8(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (1024 * 1024) + b"\n")
    with pytest.raises(InputError, match="over the limit"):
        load_file(big)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(InputError, match="not valid UTF-8") as info:
        load_file(bad)
    assert info.value.where == f"{bad}:2"


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_file(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="is a directory"):
        load_file(tmp_path)


def test_dump_is_block_style_with_literal_multiline() -> None:
    text = dump({"b": 1, "a": "line1\nline2\n"})
    assert text.startswith("b: 1\n")
    assert "a: |" in text


@pytest.mark.parametrize(("text", "expected"), [
    ("enum: [=, '!=', =~]", {"enum": ["=", "!=", "=~"]}),  # YAML 1.1 "value" tag: a string
    ("d: 2024-01-01", {"d": "2024-01-01"}),  # timestamps stay strings, as in go-yaml
    ("t: 2001-12-14t21:59:43.10-05:00", {"t": "2001-12-14t21:59:43.10-05:00"}),
    ("port: 22:22", {"port": "22:22"}),  # no base-60 integers
    ("f: 1e3", {"f": 1000.0}),
    ("b: [yes, off, true, y]", {"b": [True, False, True, "y"]}),
    ("i: [0755, 0x1F, 0b11, 1_000, -1]", {"i": [493, 31, 3, 1000, -1]}),
    ("x: [~, null, .inf, .5]", {"x": [None, None, float("inf"), 0.5]}),
    ("base: &b {x: 1}\nother: {<<: *b, y: 2}", {"base": {"x": 1}, "other": {"x": 1, "y": 2}}),
    ("base: &b {x: 1}\nm: {<<: [*b, {z: 3}], x: 9}",
     {"base": {"x": 1}, "m": {"x": 9, "z": 3}}),  # merge lists; explicit keys win
])
def test_plain_scalars_resolve_as_kubernetes_reads_them(text: str, expected: object) -> None:
    assert load_all(text)[0].data == expected


def test_chart_crd_with_value_scalar_in_enum() -> None:
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "spec:\n  versions:\n  - schema:\n      openAPIV3Schema:\n        properties:\n"
        "          action:\n            enum:\n            - replace\n            - =\n"
        "            - '!='\n"
    )
    doc = load_all(crd)[0]
    enum = doc.data["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["action"]
    assert enum["enum"] == ["replace", "=", "!="]
