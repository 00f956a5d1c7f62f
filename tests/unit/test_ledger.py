"""The run ledger: atomic private files, one run per instance at a time, replay for `down`."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from illm_lab.base.errors import ConfigError, UsageError
from illm_lab.base.identity import ObjectRef
from illm_lab.ledger import Ledger
from tests.engine.objects import experiment

CM = ObjectRef("v1", "ConfigMap", "a", "demo")
NS = ObjectRef("v1", "Namespace", "demo")


class Item:
    def __init__(self, ref: ObjectRef, action: str = "created", live_hash: str | None = "L1") -> None:
        self.ref, self.component, self.hash, self.action = ref, "app", "H1", action
        self.live_hash, self.uid, self.resource_version, self.error = live_hash, "u-1", "7", None


def test_start_writes_a_private_file_with_masked_params(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    with ledger.start(experiment(), {"token": "hunter2"}, instance="demo", command="apply") as run:
        run.cluster_intent("target", kubeconfig="/k", context="c", create=True)
        run.cluster_result("target", ok=True, server="https://127.0.0.1:6443")
        rec = run.recorder("target")
        rec.intend([Item(NS), Item(CM)])
        assert {o["state"] for o in json.loads(run.path.read_text())["objects"]} == {"apply-intent"}
        rec.applied([Item(NS), Item(CM, "unchanged")])
        run.check_result("ok", ok=True, message="fine")
    (record,) = ledger.runs()
    assert record.state == "succeeded" and record.data["finished"]
    assert record.data["params"] == {"token": "***"}
    assert "hunter2" not in (record.path or Path()).read_text()
    assert oct((record.path or Path()).stat().st_mode & 0o777) == "0o600"
    assert oct(ledger.runs_dir.stat().st_mode & 0o777) == "0o700"
    assert record.clusters["target"]["state"] == "ready"
    assert [(o["kind"], o["state"]) for o in record.objects] == [("Namespace", "created"), ("ConfigMap", "unchanged")]
    assert not list(ledger.runs_dir.glob(".*.tmp"))


def test_one_run_per_instance_at_a_time(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    with ledger.start(experiment(), {}, instance="demo", command="apply"):
        with pytest.raises(UsageError, match=f"in progress \\(pid {os.getpid()}\\)"):
            ledger.start(experiment(), {}, instance="demo", command="apply")
        with ledger.start(experiment(), {}, instance="other", command="apply"):
            pass
    with ledger.start(experiment(), {}, instance="demo", command="apply"):
        pass


def _hold_and_die(root: str, ready: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    Ledger(Path(root)).start(experiment(), {}, instance="demo", command="apply")
    ready.set()
    os._exit(9)  # dies holding the lock: the kernel must release it


def test_a_dead_process_leaves_no_stale_lock(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold_and_die, args=(str(tmp_path), ready))
    proc.start()
    proc.join(10)
    assert ready.is_set()
    ledger = Ledger(tmp_path)
    with ledger.start(experiment(), {}, instance="demo", command="apply"):
        pass
    assert {r.state for r in ledger.runs()} == {"running", "succeeded"}


def test_failures_and_interrupts_are_recorded(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    with pytest.raises(RuntimeError), ledger.start(experiment(), {}, instance="demo", command="apply"):
        raise RuntimeError("boom")
    with pytest.raises(KeyboardInterrupt), ledger.start(experiment(), {}, instance="demo", command="apply"):
        raise KeyboardInterrupt
    states = [r.state for r in ledger.runs(instance="demo")]
    assert states == ["interrupted", "failed"]
    assert ledger.runs(instance="demo")[1].data["error"] == "boom"


def test_outstanding_replays_runs_and_counts_intents(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    other = ObjectRef("v1", "Secret", "s", "demo")
    with ledger.start(experiment(), {}, instance="demo", command="apply") as run:
        run.cluster_intent("target", kubeconfig="/k", context="c")
        run.recorder("target").intend([Item(NS), Item(CM), Item(other)])
        run.recorder("target").applied([Item(NS), Item(CM)])  # the Secret's apply never answered
    with ledger.start(experiment(), {}, instance="demo", command="delete") as run:
        run.recorder("target").intend_delete([CM])
        run.recorder("target").deleted([type("R", (), {"ref": CM, "action": "deleted", "error": None})()])
    left = ledger.outstanding("demo")["target"]
    assert left.refs == sorted([NS, other])
    assert left.cluster["context"] == "c"
    assert ledger.live_hashes("demo", "target") == {NS.key: "L1", CM.key: "L1"}
    assert ledger.latest("demo") is not None and ledger.latest("demo").data["command"] == "delete"  # type: ignore[union-attr]


def test_unreadable_ledger_file_names_the_file(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.runs_dir.mkdir(parents=True)
    (ledger.runs_dir / "x.json").write_text("{")
    with pytest.raises(ConfigError, match=r"x\.json"):
        ledger.runs()
