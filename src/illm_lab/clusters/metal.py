"""Provider `talos-metal`: existing Talos nodes (a home lab), given by IP in the lab config.

Booted from the Talos ISO a node waits in maintenance mode for its machine config. lab generates
the configs once (`talosctl gen config`; kept 0600 in the cluster's folder: they hold the
cluster's PKI, so they are never regenerated), applies them to every node still in maintenance
mode (`apply-config --insecure`), points the talosconfig at the control planes, bootstraps etcd
exactly once, writes the kubeconfig and waits with `talosctl health`.

Re-running converges: a node that answers with our client certificate is configured already
(`talosctl version` fails in maintenance mode), and a running etcd (`talosctl service etcd`) means
the bootstrap happened. Deleting never wipes the machines unless the lab config says
`talosMetal.resetOnDelete: true` (then `talosctl reset` sends each back to maintenance mode).
"""

from __future__ import annotations

import time

from illm_lab.base.errors import ConfigError, ToolError
from illm_lab.clusters import registry
from illm_lab.clusters.base import Attached, Note, Provider, Removal, Request, quiet
from illm_lab.model.labconfig import MetalNodes
from illm_lab.tools import talosctl


def files(name: str) -> talosctl.Files:
    folder = registry.folder(name)
    return talosctl.Files(talosconfig=folder / "config" / "talosconfig",
                          kubeconfig=folder / "kubeconfig", state=folder / "config")


class TalosMetal(Provider):
    name = "talos-metal"

    def nodes(self, role: str) -> MetalNodes:
        nodes = self.config.talos_metal.clusters.get(role)  # type: ignore[call-overload]
        if nodes is None:
            raise ConfigError(
                f"provider talos-metal for the {role} cluster needs its node IPs: add "
                f"talosMetal.clusters.{role}.controlPlanes to {self.config_where}"
            )
        assert isinstance(nodes, MetalNodes)
        return nodes

    def preflight(self, request: Request) -> str:
        nodes = self.nodes(request.role)  # the lab config must name them, as for create
        return (f"would install Talos on {len(nodes.control_planes)} control-plane node(s) as "
                f"cluster {request.name}")

    def create(self, request: Request, note: Note = quiet) -> Attached:
        name, paths = request.name, files(request.name)
        nodes = self.nodes(request.role)
        first = nodes.control_planes[0]
        endpoint = nodes.endpoint or first
        registry.write(name, provider=self.name, role=request.role, owner=request.owner,
                       state="creating", nodes=[*nodes.control_planes, *nodes.workers])
        try:
            self._configure(name, nodes, endpoint, paths, note)
            self._bootstrap_once(first, paths, note)
            talosctl.kubeconfig(paths, first, endpoint=first)
            note(f"waiting for talos cluster {name} to be healthy")
            talosctl.health(paths, first, control_planes=nodes.control_planes,
                            workers=nodes.workers, wait_timeout=self.config.talos_metal.wait_timeout)
        except BaseException:
            registry.write(name, state="failed")
            raise
        finally:
            registry.make_private(paths.kubeconfig, paths.talosconfig)
        registry.write(name, state="ready")
        return Attached(paths.kubeconfig, registry.current_context(paths.kubeconfig))

    def _configure(self, name: str, nodes: MetalNodes, endpoint: str, paths: talosctl.Files,
                   note: Note) -> None:
        out = paths.state
        if not (out / "controlplane.yaml").is_file():
            note(f"generating Talos machine configs for {name}")
            registry.folder(name)
            talosctl.gen_config(name, endpoint, install_disk=nodes.install_disk, output=out,
                                kubernetes_version=nodes.kubernetes_version,
                                config_patches=nodes.config_patches)
            out.chmod(0o700)
            registry.make_private(*(out / f for f in ("controlplane.yaml", "worker.yaml", "talosconfig")))
        for node, kind in [*((n, "controlplane") for n in nodes.control_planes),
                           *((n, "worker") for n in nodes.workers)]:
            if talosctl.configured(paths, node):
                note(f"node {node} is configured already")
                continue
            note(f"applying the {kind} config to node {node} (maintenance mode)")
            talosctl.apply_config_insecure(node, out / f"{kind}.yaml")
        talosctl.set_endpoints(paths, nodes.control_planes)

    def _bootstrap_once(self, node: str, paths: talosctl.Files, note: Note) -> None:
        """Bootstrap etcd on `node` unless it runs already. After apply-config the node installs
        and reboots, so its API may not answer yet: ask again with a growing pause until the
        deadline (talosctl has no watch to wait on)."""
        deadline = time.monotonic() + self.config.talos_metal.wait_timeout
        delay = 2.0
        while True:
            try:
                if talosctl.etcd_running(paths, node):
                    note("etcd runs already: the cluster was bootstrapped before")
                    return
                note(f"bootstrapping etcd on {node}")
                talosctl.bootstrap(paths, node)
                return
            except ToolError as exc:
                if time.monotonic() + delay > deadline:
                    raise ToolError(f"the Talos API on {node} did not become ready: {exc}") from None
            time.sleep(delay)  # polling an external tool's API while the node reboots
            delay = min(delay * 2, 30.0)

    def exists(self, name: str) -> bool:
        return (files(name).state / "controlplane.yaml").is_file()

    def delete(self, name: str, note: Note = quiet) -> Removal:
        record = registry.read(name) or {}
        if not self.exists(name):
            registry.forget(name)
            return "gone"
        if not self.config.talos_metal.reset_on_delete:
            note(f"talos-metal cluster {name} keeps running (set talosMetal.resetOnDelete: true "
                 f"in {self.config_where} to wipe its nodes); its credentials stay in "
                 f"{registry.folder(name)}")
            return "kept"
        for node in reversed([str(n) for n in record.get("nodes") or []]):
            note(f"resetting node {node}")
            talosctl.reset(files(name), node)
        registry.forget(name)
        return "deleted"
