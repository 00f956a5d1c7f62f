"""Provider `talos`: a local Talos cluster in Docker, created by `talosctl cluster create`.

Each cluster gets its own name, its own /24 (`registry.allocate_subnet`, checked against docker's
networks) and its own folder for the talosconfig, kubeconfig and talosctl state, so experiments
can run side by side and nothing is merged into `~/.talos/config` or `~/.kube/config`. The
command line depends on the talosctl version (`tools/talosctl.py`). A cluster whose create died
half-way is destroyed by talosctl when its state exists, and by its docker labels
(`talos.cluster.name`) when not.
"""

from __future__ import annotations

import ipaddress

from illm_lab.base.errors import ToolError
from illm_lab.clusters import registry
from illm_lab.clusters.base import Attached, Note, Provider, Removal, Request, quiet
from illm_lab.tools import docker, talosctl

LABEL = "talos.cluster.name"


def files(name: str) -> talosctl.Files:
    folder = registry.folder(name)
    return talosctl.Files(talosconfig=folder / "talosconfig", kubeconfig=folder / "kubeconfig",
                          state=folder / "state")


def control_plane_ip(cidr: str) -> str:
    """talosctl gives the nodes the addresses from the network's second host on (.2 first)."""
    return str(ipaddress.ip_network(cidr)[2])


class Talos(Provider):
    name = "talos"

    def preflight(self, request: Request) -> str:
        name = request.name
        record = registry.read(name) or {}
        if record.get("state") == "ready" and files(name).kubeconfig.is_file() and self.exists(name):
            return f"would reuse talos cluster {name}"
        version = talosctl.client_version()
        if not docker.available():
            raise ToolError("provider talos runs its nodes in Docker, and no Docker engine answers "
                            f"(docker info failed); {docker.INSTALL_HINT}")
        return f"would create talos cluster {name} (talosctl {'.'.join(map(str, version))})"

    def create(self, request: Request, note: Note = quiet) -> Attached:
        name, paths = request.name, files(request.name)
        record = registry.read(name) or {}
        if record.get("state") == "ready" and paths.kubeconfig.is_file() and self.exists(name):
            note(f"talos cluster {name} exists: reusing it")
            return Attached(paths.kubeconfig, registry.current_context(paths.kubeconfig), reused=True)
        if self.exists(name):
            note(f"talos cluster {name} is half-created: destroying it first")
            self._destroy(name, paths, note)
        version = talosctl.client_version()
        if not docker.available():
            raise ToolError("provider talos runs its nodes in Docker, and no Docker engine answers "
                            f"(docker info failed); {docker.INSTALL_HINT}")
        settings = self.config.talos
        cidr = registry.allocate_subnet(name, settings.subnet_pool, docker.network_subnets())
        registry.write(name, provider=self.name, role=request.role, owner=request.owner,
                       state="creating", talosctl=".".join(map(str, version)))
        spec = talosctl.LocalCluster(
            name=name, cidr=cidr, workers=request.size.workers, cpus=request.size.cpus,
            memory_mib=request.size.memory_mib, kubernetes_version=settings.kubernetes_version,
            image=settings.image, wait_timeout=settings.wait_timeout,
            config_patches=tuple(settings.config_patches), control_planes=request.size.control_planes,
        )
        note(f"creating talos cluster {name} ({cidr}, talosctl {'.'.join(map(str, version))})")
        try:
            talosctl.create(version, spec, paths)
            talosctl.kubeconfig(paths, control_plane_ip(cidr))
        except BaseException:
            registry.write(name, state="failed")
            raise
        finally:
            registry.make_private(paths.kubeconfig, paths.talosconfig)
        registry.write(name, state="ready")
        return Attached(paths.kubeconfig, registry.current_context(paths.kubeconfig))

    def exists(self, name: str) -> bool:
        if (files(name).state / name).exists():
            return True
        try:
            containers, networks = docker.labelled(f"{LABEL}={name}")
        except ToolError:
            return False  # no docker engine: nothing of a docker cluster can exist
        return bool(containers or networks)

    def delete(self, name: str, note: Note = quiet) -> Removal:
        existed = self.exists(name)
        if existed:
            note(f"destroying talos cluster {name}")
            self._destroy(name, files(name), note)
        registry.forget(name)
        return "deleted" if existed else "gone"

    def _destroy(self, name: str, paths: talosctl.Files, note: Note) -> None:
        failure: ToolError | None = None
        if (paths.state / name).exists():
            try:
                talosctl.destroy(name, paths)
            except ToolError as exc:  # a half-written state: fall back to the docker labels
                failure = exc
        try:
            containers, networks = docker.labelled(f"{LABEL}={name}")
        except ToolError:
            if failure is not None:
                raise failure from None
            return
        if containers or networks:
            note(f"removing {len(containers)} containers and {len(networks)} networks of {name}")
            docker.remove(containers, networks)
