"""Provider `kind`: a kind cluster, its kubeconfig kept in lab's state dir.

kind names clusters itself (`kind get clusters` lists them by their containers' label), removes
what a failed `kind create` left unless told to retain it, and writes the kubeconfig where
`--kubeconfig` says. The node layout comes from the experiment's size; kind shares CPU and memory
between its nodes, so a size's CPU/memory figures are not enforced here.
"""

from __future__ import annotations

from illm_lab.base.errors import ToolError
from illm_lab.base.yamlio import dump
from illm_lab.clusters import registry
from illm_lab.clusters.base import Attached, Note, Provider, Removal, Request, quiet
from illm_lab.tools import docker, kind


def config_yaml(request: Request) -> str:
    nodes = [{"role": "control-plane"}] * request.size.control_planes
    nodes += [{"role": "worker"}] * request.size.workers
    return dump({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": nodes})


class Kind(Provider):
    name = "kind"

    def preflight(self, request: Request) -> str:
        name = request.name
        if name in kind.clusters() and (registry.read(name) or {}).get("state") == "ready":
            return f"would reuse kind cluster {name}"
        if not docker.available():
            raise ToolError("provider kind runs its nodes in Docker, and no Docker engine answers "
                            f"(docker info failed); {docker.INSTALL_HINT}")
        return f"would create kind cluster {name}"

    def create(self, request: Request, note: Note = quiet) -> Attached:
        name = request.name
        path = registry.folder(name) / "kubeconfig"
        if name in kind.clusters():
            if (registry.read(name) or {}).get("state") == "ready":
                note(f"kind cluster {name} exists: reusing it")
                if not path.is_file():
                    registry.write_private(path, kind.kubeconfig(name))
                return Attached(path, registry.current_context(path), reused=True)
            note(f"kind cluster {name} is half-created: deleting it first")
            kind.delete(name, kubeconfig=path)
        if not docker.available():
            raise ToolError("provider kind runs its nodes in Docker, and no Docker engine answers "
                            f"(docker info failed); {docker.INSTALL_HINT}")
        registry.write(name, provider=self.name, role=request.role, owner=request.owner,
                       state="creating")
        config = registry.folder(name) / "kind.yaml"
        registry.write_private(config, config_yaml(request))
        note(f"creating kind cluster {name}")
        try:
            kind.create(name, config=config, kubeconfig=path, wait=self.config.kind.wait,
                        image=self.config.kind.node_image)
        except BaseException:
            registry.write(name, state="failed")
            raise
        finally:
            registry.make_private(path)
        registry.write(name, state="ready")
        return Attached(path, registry.current_context(path))

    def exists(self, name: str) -> bool:
        return name in kind.clusters()

    def delete(self, name: str, note: Note = quiet) -> Removal:
        existed = self.exists(name)
        if existed:
            note(f"deleting kind cluster {name}")
            kind.delete(name, kubeconfig=registry.kubeconfig_path(name))
        registry.forget(name)
        return "deleted" if existed else "gone"
