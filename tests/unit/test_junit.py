"""JUnit output validates against the Ant/Surefire schema CI servers read."""

from __future__ import annotations

from pathlib import Path

import xmlschema

from illm_lab.reports import junit
from illm_lab.reports.conduct import ConductReport, MetricResult, Sample

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "junit-ant.xsd"

REPORT = {
    "experiment": "hello-app", "run": "r1", "verdict": "failed", "startedAt": "2026-11-25T10:00:00+00:00",
    "durationSeconds": 12.5, "error": None,
    "checks": [
        {"name": "rolled out", "type": "ready", "passed": True, "message": "ok", "durationSeconds": 1.0, "diagnostics": []},
        {"name": "answers", "type": "http", "passed": False, "message": "status 503 <&>", "durationSeconds": 2.0,
         "diagnostics": ["event Warning Pod/x: BackOff"], "checkpoint": "step-1"},
    ],
}


def test_junit_is_schema_valid_with_stable_classname(tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    other = {**REPORT, "experiment": "other", "verdict": "error", "error": "cluster unreachable", "checks": []}
    junit.write([ConductReport.from_dict(REPORT), ConductReport.from_dict(other)], out)
    schema = xmlschema.XMLSchema(str(SCHEMA))
    schema.validate(str(out))
    text = out.read_text()
    assert 'classname="hello-app"' in text and 'name="step-1: answers"' in text
    assert "BackOff" in text and "status 503 &lt;&amp;&gt;" in text
    root = junit.build([ConductReport.from_dict(REPORT)])
    assert root.get("tests") == "2" and root.get("failures") == "1"


def test_schema_rejects_a_testcase_without_classname(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<testsuites><testsuite name="x" timestamp="2026-11-25T10:00:00" hostname="h" tests="1" failures="0" '
        'errors="0" time="1"><properties/><testcase name="c" time="1"/><system-out/><system-err/></testsuite></testsuites>'
    )
    assert not xmlschema.XMLSchema(str(SCHEMA)).is_valid(str(bad))


def test_a_kept_report_reads_back_into_the_same_json() -> None:
    import json

    from illm_lab.base.steps import StepRecord
    from illm_lab.checks.result import CheckResult

    report = ConductReport(
        experiment="hello-app", instance="hello-app-2", run_id="r9", duration=3.25, params={"replicas": 2},
        clusters={"target": {"context": "kind-lab", "server": "https://x"}}, objects={"created": 3},
        steps=[StepRecord("deploy", "ok", 1.5, "3 created")],
        checks=[CheckResult("answers", "http", "target", False, "503", 0.5, 3, ["BackOff"], "step-1"),
                CheckResult("Two", "checkpoint", "target", True, "skipped", 0.0, 0, [], "two", skipped=True)],
        metrics=[MetricResult("rps", "rate(x[1m])", "1/s", [Sample({"pod": "a"}, 1.0)]),
                 MetricResult("p99", "q", error="query failed with status 503")],
        error="cluster gone", error_code=3, kept=True,
    )
    for original in (report, ConductReport("x", interrupted=True), ConductReport("y", dry_run=True,
                                                                                plan={"steps": ["a"]})):
        data = original.as_dict()
        again = ConductReport.from_dict(json.loads(json.dumps(data)))
        assert json.dumps(again.as_dict()) == json.dumps(data)
        assert (again.verdict, again.exit_code) == (original.verdict, original.exit_code)
