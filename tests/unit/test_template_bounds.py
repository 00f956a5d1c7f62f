"""Template rendering is bounded: range sizes, values built in template code, output, time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from illm_lab.base.errors import TemplateError
from illm_lab.base.sandbox import Limits, make_environment
from illm_lab.rendering.render import render_template

BOMBS = [
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ [1] * 10**9 }}",
    "{{ 10 * 'x' * 10**8 }}",
    "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{{ 'x'|center(10**9) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ '%999999999s'|format('x') }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '%999999999s' % 'x' }}",
    "{{ 7 ** (10 ** 6) }}",
    "{% for i in range(100000) %}{% for j in range(1000) %}{{ 'y' * 1000 }}{% endfor %}{% endfor %}",
]


@pytest.mark.parametrize("source", BOMBS)
def test_bombs_stop_fast_with_one_line(source: str) -> None:
    env = make_environment()
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        env.from_string(source).render({})
    assert time.monotonic() - started < 3
    message = str(caught.value)
    assert "rendering exceeded" in message and "\n" not in message
    assert caught.value.exit_code == 2


def test_a_slow_loop_stops_at_the_time_budget() -> None:
    env = make_environment(limits=Limits(seconds=0.3))
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"rendering exceeded 0.3 s"):
        env.from_string(source).render({})
    assert time.monotonic() - started < 2


def test_output_cap_names_the_template_file(tmp_path: Path) -> None:
    (tmp_path / "big.yaml.j2").write_text("{% for i in range(1000) %}{{ 'z' * 1000 }}{% endfor %}\n")
    env = make_environment(tmp_path, limits=Limits(output=100_000))
    with pytest.raises(TemplateError) as caught:
        render_template(env, "big.yaml.j2", {})
    assert str(caught.value) == f"{tmp_path / 'big.yaml.j2'}: rendering exceeded 100000 characters of output"


def test_ordinary_templates_still_render() -> None:
    env = make_environment()
    source = ("{{ range(3)|list }} {{ range(5)|length }} {{ 'a' ~ 1 }} {{ 2 * 3 }} {{ 'ab' * 2 }} "
              "{{ '%s-%d'|format('a', 3) }} {{ 'x %s' % 'y' }} {{ 1 + 2 }} {{ [1] + [2] }} {{ 2 ** 10 }} "
              "{% for i in range(3) %}{{ loop.index }}{% endfor %} {{ 4000000000|int }} "
              "{{ '{}:{}'.format('a', 8080) }} {{ 'x'|indent(4) }}")
    assert env.from_string(source).render({}) == (
        "[0, 1, 2] 5 a1 6 abab a-3 x y 3 [1, 2] 1024 123 4000000000 a:8080 x"
    )
