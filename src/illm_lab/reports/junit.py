"""JUnit XML in the common Ant/Surefire shape, which CI servers (Jenkins, GitLab, GitHub
reporters) import: one <testsuite> per experiment, classname = the experiment (stable across
runs, so history lines up), one <testcase> per check, failure text with the diagnostics."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from illm_lab.base.errors import UsageError


def build(reports: list[dict[str, Any]]) -> ET.Element:
    root = ET.Element("testsuites")
    total = failures = errors = 0
    for report in reports:
        checks = report.get("checks", [])
        failed = sum(1 for c in checks if not c["passed"])
        skipped = sum(1 for c in checks if c.get("skipped"))
        error = 1 if report.get("error") else 0
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": report["experiment"],
                "tests": str(len(checks) + error),
                "failures": str(failed),
                "errors": str(error),
                "skipped": str(skipped),
                "time": f"{report.get('durationSeconds', 0):.3f}",
                "timestamp": _timestamp(report.get("startedAt")),
                "hostname": socket.gethostname() or "localhost",
            },
        )
        props = ET.SubElement(suite, "properties")
        for key in ("run", "verdict"):
            if report.get(key) is not None:  # a dry run has no run id: no "None" in the report
                ET.SubElement(props, "property", {"name": key, "value": str(report[key])})
        for check in checks:
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": report["experiment"],
                    "name": _case_name(check),
                    "time": f"{check.get('durationSeconds', 0):.3f}",
                },
            )
            if check.get("skipped"):
                ET.SubElement(case, "skipped", {"message": check["message"][:500]})
            elif not check["passed"]:
                failure = ET.SubElement(
                    case, "failure", {"message": check["message"][:500], "type": check["type"]}
                )
                failure.text = "\n".join([check["message"], *check.get("diagnostics", [])])
        if error:
            case = ET.SubElement(
                suite, "testcase", {"classname": report["experiment"], "name": "conduct", "time": "0.000"}
            )
            err = ET.SubElement(case, "error", {"message": str(report["error"])[:500], "type": "LabError"})
            err.text = str(report["error"])
        ET.SubElement(suite, "system-out").text = ""
        ET.SubElement(suite, "system-err").text = ""
        total += len(checks) + error
        failures += failed
        errors += error
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    return root


def _case_name(check: dict[str, Any]) -> str:
    return f"{check['checkpoint']}: {check['name']}" if check.get("checkpoint") else str(check["name"])


def _timestamp(started: str | None) -> str:
    if started:
        return started[:19]
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def write(reports: list[dict[str, Any]], path: Path) -> None:
    tree = ET.ElementTree(build(reports))
    ET.indent(tree)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tree.write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise UsageError(f"--junit {path}: cannot write: {exc.strerror or type(exc).__name__}") from None
