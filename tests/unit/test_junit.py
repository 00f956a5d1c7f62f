"""JUnit output validates against the Ant/Surefire schema CI servers read."""

from __future__ import annotations

from pathlib import Path

import xmlschema

from illm_lab.reports import junit

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
    junit.write([REPORT, {**REPORT, "experiment": "other", "error": "cluster unreachable", "checks": []}], out)
    schema = xmlschema.XMLSchema(str(SCHEMA))
    schema.validate(str(out))
    text = out.read_text()
    assert 'classname="hello-app"' in text and 'name="step-1: answers"' in text
    assert "BackOff" in text and "status 503 &lt;&amp;&gt;" in text
    root = junit.build([REPORT])
    assert root.get("tests") == "2" and root.get("failures") == "1"


def test_schema_rejects_a_testcase_without_classname(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<testsuites><testsuite name="x" timestamp="2026-11-25T10:00:00" hostname="h" tests="1" failures="0" '
        'errors="0" time="1"><properties/><testcase name="c" time="1"/><system-out/><system-err/></testsuite></testsuites>'
    )
    assert not xmlschema.XMLSchema(str(SCHEMA)).is_valid(str(bad))
