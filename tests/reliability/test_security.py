"""Security invariants: the template sandbox holds, credentials and secret params are never
printed or written where they do not belong, credential files are private, no shell anywhere.
"""

from __future__ import annotations

import ast
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.reliability.corpus import Case as CorpusCase
from tests.reliability.corpus import prepare
from tests.reliability.fixture import write_relia
from tests.reliability.harness import lab_env, run_lab
from tests.reliability.security import (
    ENV_CANARY,
    ESCAPES,
    FILE_CANARY,
    command_gate,
    escape_trial,
    files_text,
    mode,
    occurrences,
    run_texts,
    shell_uses,
    state_privacy,
    token_scan,
)
from tests.support.catalogs import write_experiment

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- the template sandbox


@pytest.mark.parametrize(("ident", "template"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_sandbox_escape_attempt_fails(tmp_path: Path, ident: str, template: str) -> None:
    result = escape_trial(ident, template, tmp_path)
    assert not result.succeeded, result
    assert not result.crashed and result.exit_code in (0, 2), result


def test_manifest_naming_a_symlink_out_of_the_experiment_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    folder = write_experiment(root, "demo")
    outside = tmp_path / "outside.yaml"
    outside.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {FILE_CANARY}}}\n")
    (folder / "manifests" / "app.yaml.j2").unlink()
    (folder / "manifests" / "app.yaml.j2").symlink_to(outside)
    run = run_lab(["--experiments-dir", str(root), "render", "demo"], env=lab_env(tmp_path))
    assert run.exit_code == 2 and FILE_CANARY not in run.output, run.output
    assert "template not found" in run.stderr


def test_templates_never_see_the_environment(tmp_path: Path) -> None:
    prepare(CorpusCase("env", "security", (), "", files={
        "experiments/demo/manifests/app.yaml.j2": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
                                                 "data: {all: {{ (params ~ experiment) | quote }}}\n"}), tmp_path)
    env = {**lab_env(tmp_path), "LAB_CANARY": ENV_CANARY}
    run = run_lab(["--experiments-dir", str(tmp_path / "experiments"), "render", "demo"], env=env)
    assert run.exit_code == 0, run.stderr
    assert ENV_CANARY not in run.output


# ---------------------------------------------------------------- no shell


def test_no_shell_anywhere_in_src() -> None:
    assert shell_uses(REPO / "src") == []


def test_the_shell_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "import os, subprocess\nsubprocess.run('ls', shell=True)\nsubprocess.Popen(x, shell=flag)\n"
        "os.system('ls')\nos.popen('ls')\nsubprocess.getoutput('ls')\nsh.ls(_shell=True)\n"
        "subprocess.run(['ls'], shell=False)\n"
    )
    found = [u.what for u in shell_uses(tmp_path)]
    assert found == ["shell=True", "shell=flag", "os.system()", "os.popen()", "subprocess.getoutput()", "_shell=True"]
    ast.parse((tmp_path / "bad.py").read_text())


# ---------------------------------------------------------------- secrets in what lab prints and writes


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    env = prepare(CorpusCase("secrets", "security", (), ""), tmp_path)
    yield tmp_path / "experiments", env


def test_render_masks_secret_params_everywhere(demo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, env = demo
    leak = root / "demo" / "manifests" / "leak.yaml.j2"
    leak.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\n"
                    "data: {plain: {{ params.token | quote }}, encoded: {{ params.token | b64encode }}}\n")
    manifest = root / "demo" / "experiment.yaml"
    manifest.write_text(manifest.read_text().replace("manifests: [manifests/app.yaml.j2]",
                                                     "manifests: [manifests/app.yaml.j2, manifests/leak.yaml.j2]"))
    token = f"tok-{uuid.uuid4().hex}"
    encoded = __import__("base64").b64encode(token.encode()).decode()
    run = run_lab(["--experiments-dir", str(root), "render", "demo", "--set", f"token={token}"], env=env)
    assert run.exit_code == 0, run.stderr
    assert occurrences([token, encoded], run_texts(run, "render")) == []
    out = tmp_path / "out"
    out.mkdir()
    (out / "01-app.yaml").write_text("stale\n")
    (out / "01-app.yaml").chmod(0o644)
    written = run_lab(["--experiments-dir", str(root), "render", "demo", "--set", f"token={token}", "--out", str(out)],
                      env=env)
    assert written.exit_code == 0, written.stderr
    files = sorted(out.iterdir())
    assert files and all(mode(f) == 0o600 for f in files), [(f.name, oct(mode(f))) for f in files]
    assert occurrences([token, encoded], dict(files_text(out))) == []
    shown = run_lab(["--experiments-dir", str(root), "render", "demo", "--set", f"token={token}", "--show-secrets"],
                    env=env)
    assert token in shown.stdout and encoded in shown.stdout  # the scan would see a leak


def test_secret_params_are_masked_in_error_messages(demo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, env = demo
    manifest = root / "demo" / "experiment.yaml"
    manifest.write_text(manifest.read_text().replace(
        '    token: {type: string, default: "s3cr3t-value", secret: true}\n',
        '    token: {type: string, default: "s3cr3t-value", secret: true}\n'
        "    pin: {type: integer, default: 1234, secret: true, enum: [1234, 5678]}\n"))
    values = tmp_path / "values.yaml"
    cases = [
        ["--set", "pin=pin-9f8e7d"],
        ["--set", "pin=4321"],
        ["--values", str(values)],
    ]
    values.write_text("pin: pin-9f8e7d\n")
    for args in cases:
        run = run_lab(["--experiments-dir", str(root), "render", "demo", *args], env=env)
        assert run.exit_code == 2, run.output
        assert "***" in run.stderr, run.stderr
        assert occurrences(["pin-9f8e7d", "4321"], run_texts(run, " ".join(args))) == []


def test_verbose_tracebacks_carry_no_locals_and_no_credentials(tmp_path: Path) -> None:
    token = f"bearer-{uuid.uuid4().hex}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": "https://user:pw-" + token + "@127.0.0.1:9"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
        "users": [{"name": "x", "user": {"token": token}}],
    }))
    write_relia(tmp_path / "experiments")
    secret = f"param-{uuid.uuid4().hex}"
    for command in (["conduct", "relia", "--ci"], ["apply", "relia"], ["diff", "relia"]):
        run = run_lab(["-v", "--experiments-dir", str(tmp_path / "experiments"), *command,
                       "--kubeconfig", str(kubeconfig), "--set", f"token={secret}"], env=lab_env(tmp_path))
        assert run.exit_code == 3, run.output
        if command[0] != "conduct":  # a conduct reports its error; the others raise it
            assert "Traceback" in run.stderr  # -v shows it ...
        assert occurrences([token, secret, "pw-"], run_texts(run, command[0])) == []  # ... without secrets


@pytest.mark.emulator
def test_a_full_conduct_never_writes_the_token_or_a_secret_param(tmp_path: Path) -> None:
    """Everything a conduct (and the commands around it) prints or writes, scanned for the
    cluster's bearer token and the value of a `secret: true` param: goal 0 occurrences."""
    scan = token_scan(tmp_path)
    assert scan.requests_with_token > 0, "the token was not used: the scan would prove nothing"
    assert scan.exits == {"conduct": 0, "conduct-failing": 1, "apply": 0, "diff": 0, "validate": 0,
                          "status": 0, "down": 0, "bad-context": 2}, scan.exits
    assert scan.places > 10
    assert scan.occurrences == []
    assert scan.events_mode == 0o600


# ---------------------------------------------------------------- credential files


@pytest.mark.emulator
def test_state_files_are_private(tmp_path: Path) -> None:
    """The ledger (runs, locks) and what a created cluster leaves (its kubeconfig, records) are
    0600 in 0700 folders, even under a permissive umask."""
    check = state_privacy(tmp_path)
    assert check.exits == {"conduct --keep": 0, "down": 0}, check
    assert check.kubeconfigs, "no cluster kubeconfig was written: the check would prove nothing"
    assert check.files > 3
    assert check.exposed == [], check.exposed


# ---------------------------------------------------------------- command checks are opt-in


@pytest.mark.emulator
def test_command_checks_run_only_when_allowed(tmp_path: Path) -> None:
    gate = command_gate(tmp_path)
    assert gate.refused == 2 and gate.ran_unasked == 0 and gate.runs_recorded == 0, gate
    assert gate.exits["conduct --allow-commands"] == 0 and gate.ran_with_flag, gate
    assert gate.ran_trusted and gate.refused_changed, gate

