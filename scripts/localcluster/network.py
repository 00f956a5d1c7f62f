"""The cluster's network: one network namespace, addresses that exist only inside it.

Workplace rule: traffic goes only to loopback or to addresses inside the namespace this tool
creates. So the node IP sits on the namespace's `lo` (the kernel has no dummy link type), the
pod bridge and service range live only in the namespace, no route leaves it, and the block
is chosen so that it overlaps nothing configured on the host. The host reaches the API server
only through a unix-socket relay to 127.0.0.1 (see cluster.py).
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .proc import ClusterError, run

# /16 blocks tried in order; the first that overlaps no host address or route is used.
CANDIDATE_BLOCKS = ("10.213.0.0/16", "10.217.0.0/16", "172.28.0.0/16", "10.99.0.0/16")
NETNS_DIR = Path("/run/netns")


@dataclass(frozen=True)
class Layout:
    block: str
    node_ip: str
    pod_cidr: str
    pod_gateway: str
    service_cidr: str
    api_service_ip: str
    dns_ip: str


def layout_for(block: str) -> Layout:
    net = ipaddress.ip_network(block)
    base = int(net.network_address)

    def at(third: int, fourth: int) -> str:
        return str(ipaddress.ip_address(base + third * 256 + fourth))

    return Layout(
        block=block,
        node_ip=at(0, 10),
        pod_cidr=f"{at(1, 0)}/24",
        pod_gateway=at(1, 1),
        service_cidr=f"{at(200, 0)}/24",
        api_service_ip=at(200, 1),
        dns_ip=at(200, 10),
    )


def host_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 prefix the host has on an interface or in its main routing table."""
    found: list[ipaddress.IPv4Network] = []
    for entry in json.loads(run(["ip", "-j", "-4", "addr"]).stdout or "[]"):
        for info in entry.get("addr_info", []):
            if info.get("family") == "inet":
                found.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    for route in json.loads(run(["ip", "-j", "-4", "route"]).stdout or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            found.append(ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False))
    return found


def choose_layout(taken: list[ipaddress.IPv4Network] | None = None) -> Layout:
    taken = host_networks() if taken is None else taken
    for block in CANDIDATE_BLOCKS:
        net = ipaddress.IPv4Network(block)
        if not any(net.overlaps(other) for other in taken):
            return layout_for(block)
    raise ClusterError(f"every candidate block {CANDIDATE_BLOCKS} overlaps a host network")


def netns_path(name: str) -> Path:
    return NETNS_DIR / name


def in_netns(name: str, *argv: str) -> list[str]:
    """Prefix a command so it runs in the namespace's network only.

    nsenter --net, not `ip netns exec`: the latter also gives the process a private mount
    namespace, and then kubelet's secret and configmap mounts are invisible to runc.
    """
    return ["nsenter", f"--net={netns_path(name)}", *argv]


def run_netns_is_mount() -> bool:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if line.split()[4] == str(NETNS_DIR):
            return True
    return False


def netns_entries() -> list[str]:
    return sorted(os.listdir(NETNS_DIR)) if NETNS_DIR.is_dir() else []


def remove_pod_netns(before: list[str]) -> None:
    """Pod namespaces containerd left in /run/netns (cni-*): it removes them only when
    kubelet garbage-collects the stopped sandboxes, which a teardown does not wait for."""
    for name in sorted(set(netns_entries()) - set(before)):
        if not name.startswith("cni-"):
            continue
        path = NETNS_DIR / name
        run(["umount", str(path)], check=False)
        path.unlink(missing_ok=True)


def create(name: str, layout: Layout) -> None:
    run(["ip", "netns", "add", name])
    steps = [
        ["ip", "link", "set", "lo", "up"],
        ["ip", "addr", "add", f"{layout.node_ip}/32", "dev", "lo"],
        # No default route exists; without this, node-side connections to ClusterIPs fail.
        ["ip", "route", "add", layout.service_cidr, "dev", "lo"],
        ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
        ["sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"],
    ]
    for step in steps:
        run(in_netns(name, *step))


def delete(name: str) -> None:
    """Deleting the namespace removes its bridge, veths, iptables rules and conntrack."""
    if netns_path(name).exists():
        run(["ip", "netns", "del", name])
