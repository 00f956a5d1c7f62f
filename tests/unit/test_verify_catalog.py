"""scripts/verify-catalog on one small experiment: the suite's own pinned chart imported into a
temporary cache with `lab charts import`, rendered, linted, applied on the emulator through the
engine and removed — no network, no real cluster, not the catalog's cache."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from illm_lab import catalog
from illm_lab.cli.main import app
from illm_lab.ledger import Ledger
from tests.support.fakebin import require_real_helm

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
EXPERIMENTS = REPO / "tests" / "fixtures" / "experiments-real"
CHART = REPO / "tests" / "fixtures" / "charts" / "labpatterns"
sys.path.insert(0, str(SCRIPTS))

from verifycatalog import cli, core, markdown  # noqa: E402


@pytest.fixture
def imported(monkeypatch: pytest.MonkeyPatch) -> str:
    """The labpatterns chart in the test's own cache ($LAB_CACHE_DIR); its short digest."""
    helm = require_real_helm()
    monkeypatch.setenv("PATH", f"{helm.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    res = CliRunner().invoke(app, ["--experiments-dir", str(EXPERIMENTS), "charts", "import",
                                   str(CHART), "-o", "json"])
    assert res.exit_code == 0, res.output
    digest = json.loads(res.stdout)[0]["stored"][0]["digest"]
    return str(digest).removeprefix("sha256:")[:12]


@pytest.mark.emulator
@pytest.mark.timeout(120)
def test_one_experiment_renders_lints_applies_and_is_removed(imported: str, tmp_path: Path) -> None:
    entry = catalog.load(EXPERIMENTS / "chart-patterns")
    row = core.verify(entry, ledger=Ledger(tmp_path / "state"), workdir=tmp_path / "work")

    assert row.charts == [f"labpatterns@0.1.0 {imported}"]
    assert row.rendered and row.render_error is None and row.objects > 10
    assert (row.lint_errors, row.lint_first_error) == (0, None)
    assert row.apply is not None and row.apply.tier == "emulator"
    assert row.apply.failures == [] and row.apply.applied == row.apply.total == row.objects
    assert row.apply.removed and row.apply.removal == "all removed"
    assert row.conducted == "not yet"
    assert row.ok and row.problems() == []

    text = markdown.render([row], markdown.Run("today", "0.1.0", "v3", "not used", 0.1, "cmd"))
    assert f"| chart-patterns | `labpatterns@0.1.0 {imported}` | {row.objects} | 0/0 |" in text
    assert "- Rendered with real charts: 1/1" in text and "- Applied: 1/1" in text


@pytest.mark.emulator
@pytest.mark.timeout(120)
def test_the_command_writes_the_document_and_exits_0(imported: str, tmp_path: Path) -> None:
    out = tmp_path / "status.md"
    code = cli.main(["--experiments-dir", str(EXPERIMENTS), "--only", "chart-patterns", "--out", str(out)])
    assert code == 0
    text = out.read_text()
    assert "| chart-patterns |" in text and "| real-checks |" not in text
    assert "None: every experiment renders" in text


def test_a_failing_row_says_why_in_one_line() -> None:
    row = core.Row("broken", rendered=True, objects=3, apply=core.ApplyResult(
        "emulator", failures=["Deployment a/b: refused", "Service a/c: refused"],
        removal="left: Namespace a"))
    assert not row.ok
    assert row.problems() == ["apply (emulator): Deployment a/b: refused (and 1 more)",
                              "removal (emulator): left: Namespace a"]
    assert core.one_line(RuntimeError("first\nsecond")) == "RuntimeError: first"
    assert "\\|" in markdown.cell("a|b")


def test_the_conducted_column_says_when_a_record_is_stale_or_checked_nothing(tmp_path: Path) -> None:
    from illm_lab.catalog.fingerprint import experiment_hash
    from tests.support.roadmaps import record, write_record, write_tree

    folder = write_tree(tmp_path) / "experiments" / "gamma"
    assert core.conducted(folder).startswith("passed 2026-11-21 on local, Kubernetes 1.32.0")
    assert "stale" not in core.conducted(folder)
    (folder / "README.md").write_text("# changed\n")
    assert core.conducted(folder).endswith("(stale: the experiment changed since)")
    write_record(folder, record("gamma", passed=True, date="2026-11-22T00:00:00Z", checks=False,
                                folder_hash=experiment_hash(folder)))
    assert core.conducted(folder).startswith("passed without a single check 2026-11-22")


@pytest.mark.emulator
@pytest.mark.timeout(60)
def test_a_controller_that_registers_its_crds_at_start_is_played(tmp_path: Path) -> None:
    """Cilium's operator registers CiliumNetworkPolicy itself: before its Deployment exists the
    kind is not served, after it is — and a policy of that kind applies."""
    from verifycatalog import emulated

    from tests.support.emulator import LabEmulator
    from tests.support.emulator_store import ApiError

    emu = LabEmulator().start(tmp_path / "emu")
    try:
        emulated.play_runtime_crds(emu)
        policy = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                  "metadata": {"name": "p", "namespace": "default"}, "spec": {"endpointSelector": {}}}
        with pytest.raises(ApiError, match="CiliumNetworkPolicy"):
            emu.create(policy)
        emu.create({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "cilium-operator", "namespace": "kube-system"},
                    "spec": {"selector": {"matchLabels": {"a": "b"}},
                             "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}}})
        emu.wait_for("apiextensions.k8s.io/v1", "CustomResourceDefinition", None,
                     "ciliumnetworkpolicies.cilium.io", lambda o: o is not None)
        assert emu.create(policy)["metadata"]["name"] == "p"
        names = {o["metadata"]["name"] for o in emu.list("apiextensions.k8s.io/v1", "CustomResourceDefinition")}
        assert names == {"ciliumnetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io"}
    finally:
        emu.stop()
