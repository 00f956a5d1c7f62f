"""The docker CLI: is an engine running, and what do local Talos/kind clusters leave in it.

lab never runs containers itself: talosctl and kind do. It asks docker only (a) whether an engine
answers (`docker info`: a client binary without a running daemon is common), (b) which subnets
its networks use, so a new Talos cluster gets a free one, and (c) which containers and networks
carry a cluster's label, so a half-created cluster that its own tool cannot destroy is still
removed.
"""

from __future__ import annotations

from collections.abc import Sequence

from illm_lab.base.errors import ToolError
from illm_lab.tools.run import run

BINARY = "docker"
INSTALL_HINT = "install Docker (https://docs.docker.com/engine/install/) and start it"


def available(timeout: float = 20.0) -> bool:
    """True when a docker engine answers (not just when the client is installed)."""
    try:
        run([BINARY, "info", "--format", "{{.ServerVersion}}"], timeout=timeout, hint=INSTALL_HINT)
    except ToolError:
        return False
    return True


def network_subnets(timeout: float = 30.0) -> set[str]:
    """Every IPv4/IPv6 subnet a docker network uses (empty when docker does not answer)."""
    try:
        ids = run([BINARY, "network", "ls", "-q"], timeout=timeout).stdout.split()
        if not ids:
            return set()
        out = run([BINARY, "network", "inspect", "--format",
                   "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *ids], timeout=timeout).stdout
    except ToolError:
        return set()
    return set(out.split())


def labelled(label: str, timeout: float = 30.0) -> tuple[list[str], list[str]]:
    """(container ids, network ids) carrying `label` (`key=value`)."""
    containers = run([BINARY, "ps", "-aq", "--filter", f"label={label}"], timeout=timeout,
                     hint=INSTALL_HINT).stdout.split()
    networks = run([BINARY, "network", "ls", "-q", "--filter", f"label={label}"],
                   timeout=timeout).stdout.split()
    return containers, networks


def remove(containers: Sequence[str], networks: Sequence[str], timeout: float = 120.0) -> None:
    """Force-remove containers (with their anonymous volumes), then networks."""
    if containers:
        run([BINARY, "rm", "-f", "-v", *containers], timeout=timeout)
    if networks:
        run([BINARY, "network", "rm", *networks], timeout=timeout)
