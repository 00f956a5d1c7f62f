"""`local-cluster down`: remove everything one cluster created, also after a partial start.

Works only from the state file, in the order measured to leave nothing behind
(REFERENCE.md section 3): controllers first (so nothing recreates pods), force-delete the
pods, wait for containerd to have no tasks, stop the node and control plane, kill leftovers
by cgroup, unmount, delete the namespace (bridge, veths, iptables rules and conntrack go with
it), then cgroups, sysctls and host paths. Every step runs even when an earlier one failed;
the failures are reported together at the end. Running it twice is harmless.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from . import hostfs, network
from .kubeapi import Api
from .proc import ClusterError, log, run, wait_until
from .state import ACTIVE_MARKER, State, alive

CONTROLLERS = ("kube-controller-manager", "kube-scheduler")
NODE = ("kubelet", "kube-proxy", "cluster-dns")
CONTROL_PLANE = ("kube-apiserver", "relay-netns", "relay-host", "etcd")


def _stop(state: State, names: tuple[str, ...], grace: float = 5) -> None:
    targets = {n: p for n, p in state.processes.items() if n in names and alive(p)}
    for process in targets.values():
        try:
            os.kill(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace
    while any(alive(p) for p in targets.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for name, process in targets.items():
        if alive(process):
            log(f"{name} ignored SIGTERM for {grace}s; killing it")
            try:
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue


def _force_delete_pods(state: State) -> None:
    work = Path(state.workdir)
    pki = work / "pki"
    if not state.api_port or not (pki / "admin.key").exists():
        return
    api = Api("127.0.0.1", state.api_port, str(pki / "ca.crt"), str(pki / "admin.crt"),
              str(pki / "admin.key"))
    if not api.healthy("/healthz"):
        return
    status, pods = api.request("GET", "/api/v1/pods")
    if status != 200:
        return
    for pod in pods.get("items", []):
        meta = pod["metadata"]
        path = (f"/api/v1/namespaces/{urllib.parse.quote(meta['namespace'])}/pods/"
                f"{urllib.parse.quote(meta['name'])}?gracePeriodSeconds=0")
        api.request("DELETE", path, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                          "gracePeriodSeconds": 0})


def _containerd_tasks(state: State) -> list[str]:
    sock = Path(state.workdir) / "containerd" / "containerd.sock"
    if not sock.exists():
        return []
    result = run(["ctr", "--address", str(sock), "-n", "k8s.io", "tasks", "ls", "-q"],
                 check=False, timeout=10)
    return result.stdout.split() if result.returncode == 0 else []


def _wait_no_tasks(state: State) -> None:
    containerd = state.processes.get("containerd")
    kubelet = state.processes.get("kubelet")
    if not containerd or not alive(containerd) or not kubelet or not alive(kubelet):
        return
    try:
        wait_until("containerd to have no tasks", lambda: not _containerd_tasks(state),
                   timeout=30, interval=0.2)
    except ClusterError as exc:
        log(f"{exc}; the leftovers are killed by cgroup")


def _unmount_all(prefixes: list[str]) -> None:
    for point in hostfs.mounts_under(prefixes):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)


def _clean_workdir(work: Path) -> None:
    """Keep logs/ for post-mortems; everything else of the cluster goes."""
    for child in work.iterdir():
        if child.name == "logs":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def down(workdir: Path) -> bool:
    """Tear down the cluster recorded in `workdir`. Returns False when there was none."""
    workdir = workdir.resolve()
    state = State.load(workdir)
    if state is None:
        log(f"no cluster recorded in {workdir}; nothing to tear down")
        _drop_marker(workdir)
        return False
    log(f"tearing down the cluster in {workdir}")
    errors: list[str] = []
    kube_cgroups = [f"{c}/kubepods" for c in state.cgroups_created]

    def step(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except (ClusterError, OSError, ValueError) as exc:
            errors.append(f"{what}: {exc}")

    state.phase = "stopping"
    step("save state", state.save)
    step("stop controllers", lambda: _stop(state, CONTROLLERS))
    step("force-delete pods", lambda: _force_delete_pods(state))
    step("wait for containerd tasks", lambda: _wait_no_tasks(state))
    step("stop kubelet and kube-proxy", lambda: _stop(state, NODE))
    step("stop control plane", lambda: _stop(state, CONTROL_PLANE))
    step("kill leftover containers", lambda: hostfs.kill_cgroup_members(kube_cgroups))
    step("stop containerd", lambda: _stop(state, ("containerd",)))
    step("kill leftover processes", lambda: hostfs.kill_cgroup_members(state.cgroups_created))
    step("stop stray processes", lambda: _stop(state, tuple(state.processes)))
    step("unmount", lambda: _unmount_all([str(workdir)]))
    step("remove pod network namespaces", lambda: network.remove_pod_netns(state.netns_entries_before))
    if state.netns_created:
        step("delete network namespace", lambda: network.delete(state.netns))
    if state.run_netns_mount_created:
        step("unmount /run/netns", _release_run_netns)
    step("remove cgroups", lambda: hostfs.remove_cgroups(state.cgroups_created))
    step("restore sysctls", lambda: hostfs.restore_sysctls(state.sysctls))
    step("remove host paths",
         lambda: hostfs.remove_new_host_paths(state.host_paths_created, state.host_dir_entries))
    if errors:
        state.phase = "down-failed"
        step("save state", state.save)
        raise ClusterError("teardown incomplete:\n  " + "\n  ".join(errors))
    step("wait for the supervisor", lambda: _wait_supervisor(state))
    step("clean work dir", lambda: _clean_workdir(workdir))
    _drop_marker(workdir)
    if errors:
        raise ClusterError("teardown incomplete:\n  " + "\n  ".join(errors))
    log("teardown complete")
    return True


def _wait_supervisor(state: State) -> None:
    """It exits by itself once it has reaped everything; kill it if it does not."""
    process = state.supervisor
    if process is None or process.pid == os.getpid():
        return
    deadline = time.monotonic() + 5
    while alive(process) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(process):
        log("the supervisor did not exit; killing it")
        os.kill(process.pid, signal.SIGKILL)


def _release_run_netns() -> None:
    netns_dir = network.NETNS_DIR
    if netns_dir.is_dir() and not any(netns_dir.iterdir()):
        if network.run_netns_is_mount():
            run(["umount", str(netns_dir)])
        netns_dir.rmdir()


def _drop_marker(workdir: Path) -> None:
    if ACTIVE_MARKER.is_file():
        try:
            recorded = json.loads(ACTIVE_MARKER.read_text()).get("workdir")
        except ValueError:
            recorded = None
        if recorded in (None, str(workdir)):
            ACTIVE_MARKER.unlink(missing_ok=True)
