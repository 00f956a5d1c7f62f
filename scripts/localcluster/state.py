"""What one cluster has changed on the host, saved after every step of `up`.

`down` reads only this file, so it can undo a partial start: every process, namespace,
sysctl, host directory and cgroup is recorded *before* it is created or changed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_NAME = "state.json"
ACTIVE_MARKER = Path("/run/illm-lab-local-cluster.json")


@dataclass
class Process:
    pid: int
    start_ticks: int  # /proc/PID/stat field 22: guards against a recycled pid
    exe: str
    argv: list[str] = field(default_factory=list)  # as started (to start it again)
    in_netns: bool = True


@dataclass
class State:
    workdir: str
    run_id: str
    phase: str = "starting"
    netns: str = ""
    netns_created: bool = False
    run_netns_mount_created: bool = False
    netns_entries_before: list[str] = field(default_factory=list)  # /run/netns before `up`
    layout: dict[str, str] = field(default_factory=dict)
    api_port: int = 0
    node_name: str = ""
    cgroup_root: str = ""
    kubernetes_version: str = ""
    processes: dict[str, Process] = field(default_factory=dict)
    supervisor: Process | None = None  # parent of the components, reaps them (supervisor.py)
    sysctls: dict[str, str] = field(default_factory=dict)
    host_paths_created: list[str] = field(default_factory=list)
    host_dir_entries: dict[str, list[str]] = field(default_factory=dict)
    cgroups_created: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return Path(self.workdir) / STATE_NAME

    def save(self) -> None:
        staged = self.path.with_suffix(".tmp")
        staged.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.chmod(staged, 0o600)
        staged.replace(self.path)

    @classmethod
    def load(cls, workdir: Path) -> State | None:
        path = workdir / STATE_NAME
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        data["processes"] = {k: Process(**v) for k, v in data.get("processes", {}).items()}
        if data.get("supervisor"):
            data["supervisor"] = Process(**data["supervisor"])
        return cls(**data)


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after `comm` (which may contain spaces), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # ENOENT, or ESRCH while the process is being reaped
        return None
    return stat.rsplit(")", 1)[1].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def alive(process: Process) -> bool:
    """Running (not a zombie) and the same process that was recorded."""
    fields = _stat_fields(process.pid)
    if not fields or int(fields[19]) != process.start_ticks:
        return False
    return fields[0] not in ("Z", "X")
