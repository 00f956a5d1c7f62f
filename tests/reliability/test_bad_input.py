"""Bad input never crashes `lab`: the data-driven corpus (tests/reliability/corpus.py, 300+ cases)
and property-based fuzzing of manifests, values files and `--set`.

Invariants: no traceback and no "internal error"; exit 2 for bad input (1 under `lab lint`, 3 for
a cluster that cannot be reached); one error line that names the file and the field (with its
line) or the flag; the value of a `secret: true` param never printed.
"""

from __future__ import annotations

import os
import re
import string
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.corpus import GOOD, MANIFEST, SECRET, Case, all_cases, prepare, run_case
from tests.reliability.harness import LabRun, run_lab

CASES = all_cases()
# bench/reliability.py raises this for its figures; CI keeps the default short
EXAMPLES = int(os.environ.get("LAB_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    deadline=None, max_examples=EXAMPLES, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_the_corpus_is_large_and_covers_every_input() -> None:
    groups = Counter(c.group for c in CASES)
    assert len(CASES) >= 200, len(CASES)
    assert set(groups) == {"manifest", "yaml", "template", "values", "flag", "config", "kubeconfig"}
    names = {c.id for c in CASES}
    for hazard in ("alias-bomb", "deep-flow", "huge", "garbage", "duplicate-key", "latin-1"):
        for target in ("manifest", "values", "config", "kubeconfig"):
            assert f"{target}-{hazard}" in names, (target, hazard)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case(case: Case, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path)
    assert outcome.ok, "\n".join(outcome.problems)


# ---------------------------------------------------------------- fuzzing


def _lab(workspace: Path, *args: str) -> LabRun:
    env = prepare(Case("fuzz", "fuzz", (), ""), workspace) if not (workspace / "experiments").exists() else {
        "LAB_STATE_DIR": str(workspace / "state"), "LAB_CACHE_DIR": str(workspace / "cache"),
        "LAB_CONFIG": str(workspace / "config.yaml"), "NO_COLOR": "1",
    }
    return run_lab(["--experiments-dir", str(workspace / "experiments"), *args], env=env)


def _assert_clean_failure(
    run: LabRun, *, allowed: tuple[int, ...] = (0, 2), names: str = r"experiment\.yaml|\.j2|param '"
) -> None:
    assert not run.crashed, run.stderr[-2000:]
    assert run.exit_code in allowed, (run.exit_code, run.stderr[-1000:])
    assert SECRET not in run.output
    if run.exit_code == 2:
        lines = run.error_lines
        assert len(lines) == 1, run.stderr
        assert re.search(names, lines[0]), lines[0]
        assert len(lines[0]) < 800


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    copy: Any = dict(data) if isinstance(data, dict) else list(data)
    copy[head] = _replaced(data[head], tuple(rest), value)
    return copy


GOOD_DATA = yaml.safe_load(GOOD)
GOOD_PATHS = _paths(GOOD_DATA)


@FUZZ
@given(path=st.sampled_from(GOOD_PATHS), value=VALUES)
def test_fuzzed_manifest_values_fail_cleanly(path: tuple[Any, ...], value: Any) -> None:
    """Any value at any place of a valid manifest: rendered, or refused with a located error."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        prepare(Case("fuzz", "fuzz", (), ""), workspace)
        text = yaml.safe_dump(_replaced(GOOD_DATA, path, value), allow_unicode=True)
        (workspace / MANIFEST).write_text(text, encoding="utf-8")
        _assert_clean_failure(_lab(workspace, "render", "demo"))


@FUZZ
@given(offset=st.integers(min_value=0, max_value=len(GOOD)), junk=st.binary(min_size=1, max_size=40))
def test_fuzzed_manifest_bytes_fail_cleanly(offset: int, junk: bytes) -> None:
    """Random bytes spliced into a valid manifest: render exits 0 or 2, lint 0 or 1, never a crash."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        prepare(Case("fuzz", "fuzz", (), ""), workspace)
        raw = GOOD.encode()
        (workspace / MANIFEST).write_bytes(raw[:offset] + junk + raw[offset:])
        _assert_clean_failure(_lab(workspace, "render", "demo"))
        lint = _lab(workspace, "lint", "demo")
        assert not lint.crashed and lint.exit_code in (0, 1), lint.stderr[-1000:]


KEYS = st.one_of(st.sampled_from(["replicas", "image", "token", "replicas.x", "image.a.b", ""]), st.text(max_size=20))


@FUZZ
@given(key=KEYS, value=st.text(max_size=40), sep=st.sampled_from(["=", "", "=="]))
def test_fuzzed_set_flags_fail_cleanly(key: str, value: str, sep: str) -> None:
    """Any `--set`: rendered, or refused naming the flag or the param."""
    with tempfile.TemporaryDirectory() as tmp:
        run = _lab(Path(tmp), "render", "demo", "--set", f"{key}{sep}{value}")
        _assert_clean_failure(run, names=r"--set|param '")


@FUZZ
@given(value=st.text(max_size=40))
def test_fuzzed_string_params_render_as_themselves(value: str) -> None:
    """Whatever text a user gives a string param (emoji, controls, quotes, line breaks), the
    rendered manifest is valid YAML holding exactly that text (the `quote` filter's promise)."""
    with tempfile.TemporaryDirectory() as tmp:
        run = _lab(Path(tmp), "render", "demo", "--set", f"image={value}")
        assert run.exit_code == 0 and not run.crashed, run.stderr[-1000:]
        docs = [d for d in yaml.safe_load_all(run.stdout) if d]
        deployment = next(d for d in docs if d.get("kind") == "Deployment")
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == value


@settings(FUZZ, max_examples=max(1, EXAMPLES // 2))
@given(value=st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=8, max_size=40))
def test_fuzzed_secret_values_are_never_printed(value: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = _lab(Path(tmp), "render", "demo", "--set", f"token={value}")
        assert run.exit_code == 0, run.stderr
        assert value not in run.output
        shown = _lab(Path(tmp), "render", "demo", "--set", f"token={value}", "--show-secrets")
        assert value in shown.stdout  # the same output with --show-secrets: the check can see it


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["replicas", "image", "token", "other"]) | st.text(max_size=8), VALUES,
                            max_size=4))
def test_fuzzed_values_files_fail_cleanly(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        values = workspace / "values.yaml"
        prepare(Case("fuzz", "fuzz", (), ""), workspace)
        values.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        run = _lab(workspace, "render", "demo", "--values", str(values))
        _assert_clean_failure(run, names=r"values\.yaml")
