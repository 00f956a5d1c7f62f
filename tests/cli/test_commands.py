"""The catalog commands end to end through the CLI: exit codes, stdout data, stderr messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.cli.conftest import Lab
from tests.support.catalogs import write_experiment
from tests.support.emulator import LabEmulator
from tests.support.import_probe import IMPORT_PROBE

REPO = Path(__file__).resolve().parents[2]


def run(lab: Lab, *args: str) -> Any:
    result: Any = lab(*args)
    return result


def test_version_and_help(lab: Lab) -> None:
    res = run(lab, "--version")
    assert res.exit_code == 0 and res.stdout.startswith("lab ")
    res = run(lab, "--help")
    assert res.exit_code == 0
    for command in ("list", "show", "render", "lint", "new", "schema"):
        assert command in res.stdout


def test_list_json_has_the_documented_fields(lab: Lab, catalog: Path) -> None:
    write_experiment(catalog, "other", files={})
    res = run(lab, "list", "-o", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [d["name"] for d in data] == ["demo", "other"]
    assert set(data[0]) >= {"name", "title", "phase", "type", "tags"}
    assert data[0]["phase"] == "3.1" and data[0]["tags"] == ["testing"]


def test_list_filters_by_phase_prefix_and_tag(lab: Lab) -> None:
    assert json.loads(run(lab, "list", "--phase", "3", "-o", "json").stdout)[0]["name"] == "demo"
    assert json.loads(run(lab, "list", "--phase", "3.2", "-o", "json").stdout) == []
    assert json.loads(run(lab, "list", "--tag", "nope", "-o", "json").stdout) == []


def test_list_reports_broken_manifests_and_exits_2(lab: Lab, catalog: Path) -> None:
    write_experiment(catalog, "broken", manifest="apiVersion: [\n")
    res = run(lab, "list", "-o", "json")
    assert res.exit_code == 2
    assert [d["name"] for d in json.loads(res.stdout)] == ["demo"]
    assert "broken/experiment.yaml:" in res.stderr


def test_show_masks_secret_defaults(lab: Lab) -> None:
    res = run(lab, "show", "demo", "-o", "json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["spec"]["params"]["token"]["default"] == "***"
    assert "s3cr3t-value" not in res.output
    res = run(lab, "show", "demo")
    assert res.exit_code == 0 and "s3cr3t-value" not in res.output and "app ready" in res.stdout


def test_show_unknown_experiment_suggests(lab: Lab) -> None:
    res = run(lab, "show", "dmo")
    assert res.exit_code == 2
    assert "unknown experiment 'dmo'" in res.stderr and "did you mean demo" in res.stderr
    assert "Traceback" not in res.output


def test_render_applies_set_and_masks_secrets(lab: Lab) -> None:
    res = run(lab, "render", "demo", "--set", "replicas=3")
    assert res.exit_code == 0, res.output
    docs = [d for d in yaml.safe_load_all(res.stdout) if d]
    kinds = [d["kind"] for d in docs]
    assert kinds == ["Namespace", "Deployment", "Service", "Secret"]
    deploy = docs[1]
    assert deploy["spec"]["replicas"] == 3
    assert deploy["metadata"]["namespace"] == "demo"
    assert docs[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert docs[3]["stringData"] == {"token": "***"}
    assert "s3cr3t-value" not in res.stdout
    shown = run(lab, "render", "demo", "--show-secrets")
    assert "s3cr3t-value" in shown.stdout


def test_render_is_deterministic(lab: Lab) -> None:
    assert run(lab, "render", "demo").stdout == run(lab, "render", "demo").stdout


def test_render_values_file_then_set(lab: Lab, tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("replicas: 4\nimage: other:2\n")
    res = run(lab, "render", "demo", "--values", str(values), "--set", "replicas=5")
    deploy = next(d for d in yaml.safe_load_all(res.stdout) if d and d["kind"] == "Deployment")
    assert deploy["spec"]["replicas"] == 5
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "other:2"


def test_render_out_dir_files_are_private(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run(lab, "render", "demo", "--out", str(out))
    assert res.exit_code == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["00-namespaces-target.yaml", "01-app.yaml"]
    assert (out / "01-app.yaml").stat().st_mode & 0o077 == 0
    assert "s3cr3t-value" not in (out / "01-app.yaml").read_text()


def test_lint_clean_experiment(lab: Lab) -> None:
    res = run(lab, "lint", "demo")
    assert res.exit_code == 0, res.output
    assert "demo: ok" in res.stdout


def test_lint_json_lists_findings(lab: Lab, catalog: Path) -> None:
    bad = (catalog / "demo" / "manifests" / "app.yaml.j2").read_text().replace("name: app\nspec:", "name: app\nspec:\n  bogus: 1", 1)
    (catalog / "demo" / "manifests" / "app.yaml.j2").write_text(bad)
    res = run(lab, "lint", "demo", "-o", "json")
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data[0]["ok"] is False
    assert any("bogus" in f["message"] for f in data[0]["findings"])


def test_lint_unknown_experiment_is_usage_error(lab: Lab) -> None:
    assert run(lab, "lint", "nope").exit_code == 2


def test_new_scaffolds_a_lint_clean_experiment(tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    import shutil

    shutil.copytree(REPO / "experiments" / "_template", root / "_template")
    lab = Lab(root)
    res = run(lab, "new", "my-exp", "--phase", "4", "--type", "tutorial")
    assert res.exit_code == 0, res.output
    assert (root / "my-exp" / "experiment.yaml").is_file()
    shown = json.loads(run(lab, "show", "my-exp", "-o", "json").stdout)
    assert shown["metadata"]["phase"] == "4" and shown["metadata"]["type"] == "tutorial"
    assert run(lab, "lint", "my-exp").exit_code == 0
    tutorial = json.loads(run(lab, "tutorial", "show", "my-exp", "-o", "json").stdout)
    assert [c["name"] for c in tutorial["checkpoints"]] == ["open-the-app", "leave-a-note"]
    assert tutorial["checkpoints"][1]["solution"] == ["tutorial/solutions/note.yaml.j2"]
    assert tutorial["services"][0]["service"] == "my-exp/app:9898"
    assert (root / "my-exp" / "tutorial" / "solutions" / "note.yaml.j2").is_file()
    assert not (root / "my-exp" / "tutorial" / "spec.yaml").exists()
    assert "lab tutorial start my-exp" in (root / "my-exp" / "README.md").read_text()
    assert run(lab, "new", "a-demo", "--phase", "4").exit_code == 0  # other types: no tutorial
    assert not (root / "a-demo" / "tutorial").exists()
    assert "tutorial start" not in (root / "a-demo" / "README.md").read_text()
    refused = run(lab, "tutorial", "show", "a-demo")
    assert refused.exit_code == 2 and "not a tutorial" in refused.stderr
    again = run(lab, "new", "my-exp")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert run(lab, "new", "Bad_Name").exit_code == 2


def test_schema_command_prints_the_committed_schema(lab: Lab) -> None:
    res = run(lab, "schema")
    assert res.exit_code == 0
    committed = (REPO / "schema" / "experiment.schema.json").read_text()
    assert json.loads(res.stdout) == json.loads(committed), "run: lab schema > schema/experiment.schema.json"


def test_python_dash_m_runs_as_a_real_process(catalog: Path) -> None:
    env = {**os.environ, "LAB_EXPERIMENTS_DIR": str(catalog)}
    proc = subprocess.run(
        [sys.executable, "-m", "illm_lab", "list", "-o", "json"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["name"] == "demo"


def test_offline_commands_do_not_import_kubernetes(catalog: Path) -> None:
    probe = IMPORT_PROBE
    env = {**os.environ, "LAB_EXPERIMENTS_DIR": str(catalog)}
    for args in (["--help"], ["list"], ["show", "demo"], ["render", "demo"], ["lint", "demo"], ["schema"]):
        proc = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert "CLEAN 0" in proc.stderr, (args, proc.stderr[-500:])


def test_list_cache_follows_edits(lab: Lab, catalog: Path) -> None:
    assert json.loads(run(lab, "list", "-o", "json").stdout)[0]["title"] == "A test experiment"
    manifest = catalog / "demo" / "experiment.yaml"
    manifest.write_text(manifest.read_text().replace("A test experiment", "Renamed"))
    assert json.loads(run(lab, "list", "-o", "json").stdout)[0]["title"] == "Renamed"
    manifest.write_text(manifest.read_text().replace("type: demo", "type: nope"))
    res = run(lab, "list", "-o", "json")
    assert res.exit_code == 2 and json.loads(res.stdout) == [] and "metadata.type" in res.stderr
    res = run(lab, "list", "-o", "json")
    assert res.exit_code == 2 and "metadata.type" in res.stderr, "a cached problem is still reported"


def test_warm_list_does_not_import_pydantic(catalog: Path) -> None:
    env = {**os.environ, "LAB_EXPERIMENTS_DIR": str(catalog)}
    probe = (
        "import sys\nfrom illm_lab.cli.main import app\n"
        "try:\n    app(args=['list'], prog_name='lab')\nexcept SystemExit:\n    pass\n"
        "print('PYDANTIC' if 'pydantic' in sys.modules else 'LIGHT', file=sys.stderr)\n"
    )
    first = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert "PYDANTIC" in first.stderr  # cold: every manifest is validated
    second = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert "LIGHT" in second.stderr, second.stderr


def test_secret_param_values_are_masked_everywhere_and_output_stays_yaml(lab: Lab, catalog: Path) -> None:
    template = catalog / "demo" / "manifests" / "app.yaml.j2"
    template.write_text(template.read_text() + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaky\n"
                        "data:\n  url: {{ ('https://user:' ~ params.token ~ '@example.org') | quote }}\n"
                        "  raw: {{ params.token }}\n")
    res = run(lab, "render", "demo")
    assert res.exit_code == 0, res.output
    assert "s3cr3t-value" not in res.stdout
    docs = [d for d in yaml.safe_load_all(res.stdout) if d]
    leaky = next(d for d in docs if d["metadata"]["name"] == "leaky")
    assert leaky["data"] == {"url": "https://user:<masked>@example.org", "raw": "<masked>"}


def test_yaml_output_is_data_for_every_command(lab: Any, reachable: LabEmulator) -> None:
    """-o yaml gives the same data as -o json (never the table); conduct gives a list of reports,
    also for one experiment (docs/reports.md)."""
    import yaml as _yaml

    def timeless(data: Any) -> Any:  # two runs: equal but for their clocks
        if isinstance(data, dict):
            return {k: timeless(v) for k, v in data.items() if k not in ("startedAt", "durationSeconds")}
        return [timeless(v) for v in data] if isinstance(data, list) else data

    for args in (("status",), ("conduct", "demo", "--dry-run", "--ci")):
        as_json = lab(*args, "-o", "json")
        as_yaml = lab(*args, "-o", "yaml")
        assert as_json.exit_code == as_yaml.exit_code == 0, as_yaml.output
        from_json, from_yaml = json.loads(as_json.stdout), _yaml.safe_load(as_yaml.stdout)
        assert isinstance(from_json, list) and isinstance(from_yaml, list)
        assert timeless(from_yaml) == timeless(from_json)
