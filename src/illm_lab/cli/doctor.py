"""`lab doctor`: which external tools lab finds, their versions, and how to get what is missing."""

from __future__ import annotations

import typer

from illm_lab import ui
from illm_lab.base.errors import EXIT_FAILED
from illm_lab.cli.options import Format, OutputOpt, show


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_cmd)


def doctor_cmd(output: OutputOpt = Format.table) -> None:
    """Check helm, kubectl, talosctl, docker and kind; exit 1 if a required tool is missing."""
    from illm_lab.tools import doctor

    diagnosis = doctor.diagnose()
    data = diagnosis.as_dict()
    def table() -> None:
        ui.table(None, ["TOOL", "NEEDED", "STATUS", "VERSION", "MINIMUM", "PATH"], [
            [t["name"], t["level"], t["status"], t["version"] or "-", t["minimum"], t["path"] or "-"]
            for t in data["tools"]
        ])
        for tool in data["tools"]:
            if tool["note"]:
                ui.info(f"{tool['name']}: {tool['note']}")
            if tool["install"]:
                line = (f"{tool['name']} ({tool['level']}, {tool['purpose']}) is {tool['status']}: "
                        f"install {tool['minimum']} or later from {tool['install']}")
                ui.error(line) if tool["level"] == "required" else ui.warn(line)

    show(output, data, table)
    if not diagnosis.ok:
        raise typer.Exit(EXIT_FAILED)
