"""Host state outside the namespace that the components touch: sysctls, paths, cgroups, mounts.

None of these are per network namespace, so `up` records them before starting anything and
`down` puts back exactly what was recorded (REFERENCE.md section 3, "Limits").
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from .proc import log

# kubelet sets the first three at start (protectKernelDefaults=false); the rest are
# recorded too so any other change by a component is undone.
SYSCTLS = (
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/netfilter/nf_conntrack_max",
)

# Fixed paths the components (or libraries they embed) create regardless of flags.
HOST_PATHS = (
    "/var/lib/cni",  # libcni result cache
    "/run/containerd",  # shim sockets (/run/containerd/s) are hard-coded in containerd 1.6
    "/var/lib/kubelet",
    "/var/log/pods",  # kubelet 1.20 has no flag for the pod log directory
    "/var/log/containers",
    "/var/lib/containerd",
    "/opt/containerd",
    "/etc/cni",
    "/opt/cni",
    "/var/run/kubernetes",
    "/etc/kubernetes",
    "/var/lib/dockershim",
    "/usr/libexec/kubernetes",
)

CGROUP_ROOT = Path("/sys/fs/cgroup")


def read_sysctls() -> dict[str, str]:
    values = {}
    for key in SYSCTLS:
        path = Path("/proc/sys") / key
        if path.exists():
            values[key] = path.read_text().strip()
    return values


def restore_sysctls(saved: dict[str, str]) -> None:
    for key, old in saved.items():
        path = Path("/proc/sys") / key
        if path.exists() and path.read_text().strip() != old:
            log(f"restoring sysctl {key.replace('/', '.')}={old}")
            path.write_text(old + "\n")


def existing_entries(path: str) -> list[str] | None:
    p = Path(path)
    return sorted(os.listdir(p)) if p.is_dir() else None


def remove_new_host_paths(created: list[str], entries: dict[str, list[str]]) -> None:
    """Delete host paths created by this cluster; in pre-existing ones, only new entries."""
    for path in created:
        p = Path(path)
        if p.is_symlink() or p.is_file():
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p, ignore_errors=False)
    for path, before in entries.items():
        p = Path(path)
        if not p.is_dir():
            continue
        for name in sorted(set(os.listdir(p)) - set(before)):
            child = p / name
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def cgroup_hierarchies() -> list[Path]:
    """Mount points of the cgroup hierarchies (v1: one per controller group; v2: one)."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fstype = right.split()[0] if right else ""
        if fstype in ("cgroup", "cgroup2"):
            mounts.append(Path(left.split()[4]))
    return sorted(set(mounts))


def create_cgroup(relative: str) -> list[str]:
    """Create `relative` in every hierarchy; return the directories made (for teardown)."""
    made = []
    for hierarchy in cgroup_hierarchies():
        target = hierarchy / relative.strip("/")
        if target.exists():
            continue
        target.mkdir(parents=True)
        made.append(str(target))
        # cgroup v1 cpuset children start empty and refuse tasks until given cpus and mems.
        for name in ("cpuset.cpus", "cpuset.mems"):
            parent_file = target.parent / name
            if parent_file.exists() and (target / name).exists():
                (target / name).write_text(parent_file.read_text())
    return made


def join_cgroup(relative: str, pid: int) -> None:
    for hierarchy in cgroup_hierarchies():
        procs = hierarchy / relative.strip("/") / "cgroup.procs"
        if procs.exists():
            procs.write_text(f"{pid}\n")


def pids_in_cgroups(directories: list[str]) -> set[int]:
    pids: set[int] = set()
    for top in directories:
        root = Path(top)
        if not root.is_dir():
            continue
        for procs in root.rglob("cgroup.procs"):
            try:
                pids |= {int(x) for x in procs.read_text().split()}
            except OSError:
                continue
    return pids


def kill_cgroup_members(directories: list[str], timeout: float = 10) -> None:
    """SIGKILL every process left in our cgroups (containers, shims), until none remain."""
    deadline = time.monotonic() + timeout
    while True:
        pids = pids_in_cgroups(directories) - {os.getpid()}
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        if time.monotonic() > deadline:
            log(f"processes still in the cluster's cgroups after {timeout}s: {sorted(pids)}")
            return
        time.sleep(0.1)


def remove_cgroups(directories: list[str]) -> None:
    """rmdir depth-first (cgroup directories cannot be removed recursively)."""
    for top in directories:
        root = Path(top)
        if not root.is_dir():
            continue
        children = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for child in [*children, root]:
            for _ in range(50):
                try:
                    child.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)  # a just-killed task may still be leaving the cgroup


def mounts_under(prefixes: list[str]) -> list[str]:
    """Mount points below any prefix, deepest first."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == p or point.startswith(p.rstrip("/") + "/") for p in prefixes):
            found.append(point)
    return sorted(set(found), key=lambda p: (-p.count("/"), p))
