"""The HTML report, the site and the kept reports without a browser: shapes, escaping, masking,
file modes, look-ups, and that `lab --help` never imports the plotting library."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from illm_lab.base.errors import UsageError
from illm_lab.cli.main import app
from illm_lab.reports import charts, html, site, store

REPO = Path(__file__).resolve().parents[2]


def report(run: str = "20261203T080000000000Z-hello-app-abc123", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": "lab.illm.io/report/v1", "experiment": "hello-app", "instance": "hello-app", "run": run,
        "verdict": "failed", "exitCode": 1, "startedAt": "2026-12-03T08:00:00+00:00", "durationSeconds": 4.2,
        "params": {"replicas": 2, "token": "***", "nested": {"a": [1, 2]}},
        "clusters": {"target": {"context": "kind-lab", "server": "https://127.0.0.1:6443"}},
        "plan": {}, "objects": {"created": 3},
        "steps": [{"name": "render", "status": "ok", "durationSeconds": 0.1, "message": ""},
                  {"name": "checks", "status": "failed", "durationSeconds": 2.0, "message": ""}],
        "checks": [
            {"name": "answers <script>alert(1)</script>", "type": "http", "cluster": "target", "passed": False,
             "message": "status 503", "durationSeconds": 2.0, "attempts": 7,
             "diagnostics": ["Warning BackOff pod/x", "  | <b>log line</b>"]},
            {"name": "rolled out", "type": "ready", "cluster": "target", "passed": True, "message": "ok",
             "durationSeconds": 0.01, "attempts": 1, "diagnostics": []},
        ],
        "metrics": [], "kept": False, "error": None,
    }
    return {**data, **extra}


def test_the_page_is_self_contained_escaped_and_masked() -> None:
    page = html.render([report()], {"20261203T080000000000Z-hello-app-abc123": [
        {"cluster": "target", "apiVersion": "apps/v1", "kind": "Deployment", "namespace": "hello",
         "name": "hello-app", "component": "app", "state": "deleted"}]})
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;log line&lt;/b&gt;" in page
    assert "default-src 'none'" in page
    assert not re.search(r'\b(?:src|href)="(?:https?:)?//', page), "the page must load nothing"
    assert page.count('class="check"') == 2 and 'data-result="failed" open' in page
    assert "7 attempts" in page and "hello/hello-app" in page
    assert "<code>token</code></td><td><code>***</code>" in page
    assert "<code>nested.a</code></td><td><code>[1, 2]</code>" in page
    assert page.count("<svg") == 1 and 'role="img"' in page


def test_several_reports_make_one_page_with_a_section_each() -> None:
    page = html.render([report(), report(run="other", experiment="http-baseline", verdict="passed", exitCode=0)])
    assert page.count('<section class="report"') == 2 and 'href="#r1"' in page
    assert 'id="r0-timeline-' in page and 'id="r1-timeline-' in page


def test_chart_ids_are_prefixed_and_charts_carry_a_text_alternative() -> None:
    chart = charts.timeline(report()["steps"], "k1")
    ids = re.findall(r'\bid="([^"]+)"', chart.svg)
    assert ids and all(i.startswith("k1-") for i in ids)
    assert all(ref.startswith("k1-") for ref in re.findall(r"url\(#([^)]+)\)", chart.svg))
    assert '<title id="k1-title">Timeline of the run&#39;s steps</title>' in chart.svg
    assert "checks failed in 2.0 s" in chart.svg  # the <desc>
    assert "<?xml" not in chart.svg and "<metadata>" not in chart.svg
    assert chart.rows[1] == ("checks", "failed", "100 ms", "2.0 s", "")


def test_metric_charts_group_by_unit_and_keep_errors_and_promql() -> None:
    metrics = [
        {"name": "a mem", "query": "sum(a)", "unit": "bytes", "values": [{"labels": {}, "value": 3 * 2**30}]},
        {"name": "b mem", "query": "sum(b)", "unit": "bytes", "values": [{"labels": {"pod": "x"}, "value": 2**29},
                                                                          {"labels": {"pod": "y"}, "value": 2**20}]},
        {"name": "rate", "query": "rate(x[5m])", "unit": "req/s", "values": [{"labels": {}, "value": float("nan")}]},
        {"name": "down", "query": "up", "unit": "req/s", "values": [], "error": "query failed with status 503"},
    ]
    made = charts.metric_charts(metrics, "m")
    assert [c.title for c in made] == ["Comparison in bytes", "Comparison in req/s"]
    assert made[0].queries == (("a mem", "sum(a)"), ("b mem", "sum(b)"))
    assert ("b mem", "pod=x", "512 MiB", "bytes") in made[0].rows
    assert ">GiB<" in made[0].svg  # the axis is in the unit of the largest bar
    assert made[1].svg == "" and ("down", "-", "error: query failed with status 503", "req/s") in made[1].rows


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (0.12, "s", "120 ms"), (1536, "bytes", "1.5 KiB"), (12, "bytes", "12 B"), (25_000, "req/s", "25k req/s"),
    (3.14159, "cores", "3.14 cores"), (2.5e9, "", "2.5G"), (1000, "", "1000"),
    (1000 * 1024, "bytes", "1000 KiB"), (float("nan"), "bytes", "nan bytes"),
])
def test_values_read_as_people_read_them(value: float, unit: str, shown: str) -> None:
    assert charts.format_value(value, unit) == shown


def test_kept_reports_are_private_and_found_by_run_or_experiment(tmp_path: Path) -> None:
    older = report(run="20261201T000000000000Z-hello-app-aaaaaa", startedAt="2026-12-01T00:00:00+00:00")
    newer = report(run="20261202T000000000000Z-hello-app-bbbbbb", startedAt="2026-12-02T00:00:00+00:00")
    for data in (newer, older):
        path = store.save(data, tmp_path)
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "reports").stat().st_mode) == 0o700
    assert store.load("hello-app", tmp_path)["run"] == newer["run"]
    assert store.load(older["run"], tmp_path)["run"] == older["run"]
    assert store.save(report(run=None), tmp_path) is None  # a dry run has no run to name it by
    with pytest.raises(UsageError, match="no report"):
        store.load("http-baseline", tmp_path)
    with pytest.raises(UsageError, match="neither a run id"):
        store.load("../../etc/passwd", tmp_path)


def test_a_kept_report_the_type_cannot_read_is_named_and_hides_no_other(tmp_path: Path) -> None:
    from illm_lab.base.errors import ConfigError

    good = report(run="20261201T000000000000Z-hello-app-aaaaaa")
    store.save(good, tmp_path)
    bad = report(run="20261202T000000000000Z-hello-app-bbbbbb", checks=[{"passed": False}])
    store.save(bad, tmp_path)
    with pytest.raises(ConfigError, match="not a conduct report"):
        store.load(bad["run"], tmp_path)
    assert store.load("hello-app", tmp_path)["run"] == good["run"]


def test_lab_report_shows_writes_and_refuses(tmp_path: Path) -> None:
    data = report()
    store.save(data)
    shown = CliRunner().invoke(app, ["report", "hello-app"])
    assert shown.exit_code == 0 and "hello-app: FAILED" in shown.stdout
    as_json = json.loads(CliRunner().invoke(app, ["report", data["run"], "-o", "json"]).stdout)[0]
    assert (as_json["run"], as_json["checks"], as_json["params"]) == (data["run"], data["checks"], data["params"])
    page = tmp_path / "deep" / "report.html"
    written = CliRunner().invoke(app, ["report", "hello-app", "--html", str(page)])
    assert written.exit_code == 0 and page.read_text().startswith("<!DOCTYPE html>")
    missing = CliRunner().invoke(app, ["report", "nope"])
    assert missing.exit_code == 2 and "no report of a run or experiment named 'nope'" in missing.stderr


def test_adr_markdown_links_to_pages_and_never_to_missing_files() -> None:
    text = ("# 0002. Two\n\nSee [one](0001-one.md#why), [docs](../docs/reports.md), [web](https://example.org)"
            " and <b>raw</b> ![diagram](d.png).\n")
    body = site.markdown(text, {"0001-one.md": "0001-one.html"})
    assert '<a href="0001-one.html#why">one</a>' in body
    assert '<span class="repo-path" title="in the repository: ../docs/reports.md">docs</span>' in body
    assert '<a href="https://example.org">web</a>' in body
    assert "&lt;b&gt;raw&lt;/b&gt;" in body and "<img" not in body and "[image: diagram]" in body


def test_site_of_the_repository_has_every_phase_experiment_and_adr(tmp_path: Path) -> None:
    out = tmp_path / "site"
    res = CliRunner().invoke(app, ["--experiments-dir", str(REPO / "experiments"), "site", "build",
                                   "--out", str(out), "--roadmap-dir", str(REPO / "roadmap")])
    assert res.exit_code == 0, res.output
    index = (out / "index.html").read_text()
    assert index.count('data-phase="') == 9 + len(list((REPO / "roadmap").glob("appendix-*.md")))
    adrs = sorted(p.stem for p in (REPO / "adrs").glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert sorted(p.stem for p in (out / "adrs").glob("*.html")) == adrs
    built = {p.name for p in (REPO / "experiments").iterdir() if (p / "experiment.yaml").is_file()}
    assert {p.stem for p in (out / "experiments").glob("*.html")} <= built
    hello = (out / "experiments" / "hello-app.html").read_text()
    assert "✔ PASSED" in hello and "deployment rolled out" in hello and "v1.20.2" in hello


def test_help_does_not_import_the_plotting_library() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "illm_lab", "--help"],
                         capture_output=True, text=True, env=env, check=True)
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in res.stderr.splitlines() if "|" in line}
    assert "matplotlib" not in imported and "markdown_it" not in imported and "numpy" not in imported
