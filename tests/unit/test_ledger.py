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


def test_an_interrupt_while_the_end_is_written_still_ends_the_run(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C landing inside the write of a finished run's end (the work done, the process
    about to exit) must not leave the run `running`: it is written again as interrupted."""
    from illm_lab.ledger import run as run_module

    ledger = Ledger(tmp_path)
    original = run_module.write_atomic
    calls = []

    def cut_short(path: Path, text: str) -> None:
        calls.append(json.loads(text)["state"])
        if len(calls) == 1:
            raise KeyboardInterrupt
        original(path, text)

    with pytest.raises(KeyboardInterrupt), ledger.start(experiment(), {}, instance="demo", command="apply"):
        monkeypatch.setattr(run_module, "write_atomic", cut_short)  # the interrupt comes from __exit__
    assert calls == ["succeeded", "interrupted"]
    [run] = ledger.runs(instance="demo")
    assert run.state == "interrupted"
    with ledger.start(experiment(), {}, instance="demo", command="apply"):  # the lock was released
        pass


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


def _applied(ledger: Ledger, instance: str, *refs: ObjectRef, command: str = "apply") -> Path:
    with ledger.start(experiment(), {}, instance=instance, command=command) as run:
        run.cluster_intent("target", kubeconfig="/k", context="c")
        run.recorder("target").applied([Item(r) for r in refs])
    return run.path


BAD_FILES = {
    "not JSON": "not json at all",
    "truncated": '{"version": 1, "id": "x", "instance": "demo", "objects": [{"apiVer',
    "newer format": '{"version": 2, "id": "x", "instance": "demo", "experiment": "demo"}',
    "not a run": '["a", "list"]',
    "damaged objects": '{"version": 1, "id": "x", "instance": "demo", "experiment": "demo", "objects": [{"kind": 1}]}',
    "huge number": '{"version": 1' + "0" * 5000 + ', "id": "x"}',
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_run_file_is_skipped_and_named_never_fatal(tmp_path: Path, case: str) -> None:
    ledger = Ledger(tmp_path)
    _applied(ledger, "demo", CM)
    _applied(ledger, "other", NS)
    bad = ledger.runs_dir / "20260101T000000000000Z-demo-abcdef.json"
    bad.write_text(BAD_FILES[case])
    fresh = Ledger(tmp_path)
    assert [r.instance for r in fresh.runs()] == ["other", "demo"]
    assert fresh.outstanding("demo")["target"].refs == [CM]
    assert [u.path for u in fresh.unreadable()] == [bad]
    assert fresh.unreadable("other") == []  # another instance's file is not even read
    message = str(fresh.unreadable("demo")[0])
    assert message.startswith(f"{bad}: ") and len(message) < 400, message
    with pytest.raises(ConfigError, match=r"abcdef\.json"):
        fresh.load(bad.stem)  # asked for by id: still an error


def test_a_file_lab_did_not_name_is_read_for_every_instance(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    _applied(ledger, "demo", CM)
    (ledger.runs_dir / "x.json").write_text("{")
    assert ledger.outstanding("other") == {}
    assert [u.id for u in ledger.unreadable("other")] == ["x"]


def test_a_query_about_one_instance_parses_only_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from illm_lab.ledger import store

    ledger = Ledger(tmp_path)
    for instance in ("a", "b", "c"):
        _applied(ledger, instance, CM)
    parsed: list[str] = []
    real = store.read_run
    monkeypatch.setattr(store, "read_run", lambda path: parsed.append(path.name) or real(path))
    fresh = Ledger(tmp_path)
    fresh.outstanding("b")
    fresh.live_hashes("b", "target")
    fresh.created_clusters("b")
    assert len(parsed) == 1 and "-b-" in parsed[0]  # once, and only b's: finished runs are kept
    fresh.runs()
    assert len(parsed) == 3


def test_retention_keeps_the_newest_finished_runs_and_what_is_still_deployed(tmp_path: Path) -> None:
    keep = 3
    ledger = Ledger(tmp_path, keep=keep)
    only_here = ObjectRef("v1", "Secret", "s", "demo")
    oldest = _applied(ledger, "demo", only_here, CM)  # the Secret is never recorded again
    for _ in range(6):
        _applied(ledger, "demo", CM)
    with ledger.start(experiment(), {}, instance="demo", command="apply") as run:
        run.cluster_intent("target", name="demo-target", provider="kind", create=True)
    created = run.path
    for _ in range(6):
        _applied(ledger, "demo", CM)
    _applied(ledger, "other", NS)
    left = {r.path for r in ledger.runs(instance="demo")}
    assert oldest in left and created in left  # they hold the Secret and the created cluster
    assert len(left) == keep + 1 + 2  # the newest 3, the one being started ... and those two
    assert ledger.outstanding("demo")["target"].refs == sorted([CM, only_here])
    assert ledger.created_clusters("demo")["target"]["name"] == "demo-target"
    assert len(ledger.runs(instance="other")) == 1


def test_retention_forgets_runs_whose_objects_were_all_deleted(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, keep=1)
    _applied(ledger, "demo", CM)
    with ledger.start(experiment(), {}, instance="demo", command="delete") as run:
        run.recorder("target").deleted([type("R", (), {"ref": CM, "action": "deleted", "error": None})()])
    _applied(ledger, "demo", command="status")
    assert [r.data["command"] for r in ledger.runs(instance="demo")] == ["status", "delete"]
    with ledger.start(experiment(), {}, instance="demo", command="apply"):
        pass
    assert [r.data["command"] for r in ledger.runs(instance="demo")] == ["apply", "status"]
    assert ledger.outstanding("demo")["target"].refs == []


def test_retention_never_forgets_a_run_still_running(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold_and_die, args=(str(tmp_path), ready))
    proc.start()
    proc.join(10)
    ledger = Ledger(tmp_path, keep=0)
    for _ in range(3):
        with ledger.start(experiment(), {}, instance="demo", command="apply"):
            pass
    assert [r.state for r in ledger.runs(instance="demo")] == ["succeeded", "running"]
