"""JUnit XML in the common Ant/Surefire shape, which CI servers (Jenkins, GitLab, GitHub
reporters) import: one <testsuite> per experiment, classname = the experiment (stable across
runs, so history lines up), one <testcase> per check, failure text with the diagnostics."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from illm_lab.base.errors import UsageError
from illm_lab.checks.result import CheckResult
from illm_lab.reports.conduct import ConductReport


def build(reports: list[ConductReport]) -> ET.Element:
    root = ET.Element("testsuites")
    total = failures = errors = 0
    for report in reports:
        failed, error = _suite(root, report)
        total += len(report.checks) + error
        failures += failed
        errors += error
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    return root


def _suite(root: ET.Element, report: ConductReport) -> tuple[int, int]:
    """One <testsuite> for `report`; its failures and errors."""
    checks = report.checks
    failed = sum(1 for c in checks if not c.passed)
    error = 1 if report.error else 0
    suite = ET.SubElement(root, "testsuite", {
        "name": report.experiment,
        "tests": str(len(checks) + error),
        "failures": str(failed),
        "errors": str(error),
        "skipped": str(sum(1 for c in checks if c.skipped)),
        "time": f"{report.duration:.3f}",
        "timestamp": _timestamp(report.started_at),
        "hostname": socket.gethostname() or "localhost",
    })
    props = ET.SubElement(suite, "properties")
    for key, value in (("run", report.run_id), ("verdict", report.verdict)):
        if value is not None:  # a dry run has no run id: no "None" in the report
            ET.SubElement(props, "property", {"name": key, "value": str(value)})
    for check in checks:
        _case(suite, report.experiment, check)
    if report.error:
        case = ET.SubElement(
            suite, "testcase", {"classname": report.experiment, "name": "conduct", "time": "0.000"}
        )
        err = ET.SubElement(case, "error", {"message": report.error[:500], "type": "LabError"})
        err.text = report.error
    ET.SubElement(suite, "system-out").text = ""
    ET.SubElement(suite, "system-err").text = ""
    return failed, error


def _case(suite: ET.Element, classname: str, check: CheckResult) -> None:
    name = f"{check.checkpoint}: {check.name}" if check.checkpoint else check.name
    case = ET.SubElement(
        suite, "testcase", {"classname": classname, "name": name, "time": f"{check.duration:.3f}"}
    )
    if check.skipped:
        ET.SubElement(case, "skipped", {"message": check.message[:500]})
    elif not check.passed:
        failure = ET.SubElement(case, "failure", {"message": check.message[:500], "type": check.type})
        failure.text = "\n".join([check.message, *check.diagnostics])


def _timestamp(started: str | None) -> str:
    if started:
        return started[:19]
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def write(reports: list[ConductReport], path: Path) -> None:
    tree = ET.ElementTree(build(reports))
    ET.indent(tree)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tree.write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise UsageError(f"--junit {path}: cannot write: {exc.strerror or type(exc).__name__}") from None
