"""The talosctl binary (no maintained Python wrapper exists, so lab calls the executable).

Version-aware: talosctl 1.12 moved local Docker clusters to a subcommand. Up to 1.11 it is
`talosctl cluster create --provisioner docker --cidr ... --controlplanes 1 --cpus --memory
--wait --wait-timeout --skip-kubeconfig --talosconfig T`; from 1.12 it is `talosctl cluster
create docker --subnet ... --cpus-controlplanes --memory-controlplanes --talosconfig-destination
T` (one control plane; bare `cluster create` became the QEMU path). `create_argv()` builds one or
the other from `client_version()`.

Nothing lands in the user's files: every call gets `TALOSCONFIG` and `KUBECONFIG` pointing into
the cluster's folder under lab's state dir (1.12 merges the kubeconfig into `$KUBECONFIG` and has
no flag to skip it), and the kubeconfig is then (re)written there with `talosctl kubeconfig
--merge=false`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from illm_lab.base.errors import ToolError
from illm_lab.tools.run import Result, run

BINARY = "talosctl"
INSTALL_HINT = "install talosctl (https://www.talos.dev/latest/talos-guides/install/talosctl/)"
SUBCOMMAND_FROM = (1, 12)  # `talosctl cluster create docker`
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Files:
    """Where talosctl keeps one cluster's credentials and state (all under lab's state dir)."""

    talosconfig: Path
    kubeconfig: Path
    state: Path

    @property
    def env(self) -> dict[str, str]:
        return {"TALOSCONFIG": str(self.talosconfig), "KUBECONFIG": str(self.kubeconfig)}


@dataclass(frozen=True)
class LocalCluster:
    """What `talosctl cluster create` needs for a local Docker cluster."""

    name: str
    cidr: str
    workers: int
    cpus: float
    memory_mib: int
    kubernetes_version: str | None = None
    image: str | None = None
    wait_timeout: float = 1200.0
    config_patches: Sequence[str] = ()
    control_planes: int = 1  # only up to 1.11: `cluster create docker` makes exactly one


def _talosctl(args: Sequence[str], *, files: Files | None = None, timeout: float = 120.0) -> Result:
    return run([BINARY, *args], timeout=timeout, env=files.env if files else None,
               hint=INSTALL_HINT)


def parse_version(text: str) -> tuple[int, int, int]:
    match = _VERSION.search(text)
    if match is None:
        raise ToolError(f"talosctl version: cannot read a version in {text.strip()[:80]!r}")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch)


def client_version(timeout: float = 30.0) -> tuple[int, int, int]:
    """`talosctl version --client --short`, e.g. (1, 12, 0)."""
    return parse_version(_talosctl(["version", "--client", "--short"], timeout=timeout).stdout)


def create_argv(version: tuple[int, int, int], spec: LocalCluster, files: Files) -> list[str]:
    cpus = f"{spec.cpus:g}"
    if version[:2] >= SUBCOMMAND_FROM:
        memory = f"{spec.memory_mib}MiB"
        argv = ["cluster", "create", "docker", "--name", spec.name, "--state", str(files.state),
                "--talosconfig-destination", str(files.talosconfig), "--subnet", spec.cidr,
                "--workers", str(spec.workers), "--cpus-controlplanes", cpus, "--cpus-workers", cpus,
                "--memory-controlplanes", memory, "--memory-workers", memory]
    else:
        argv = ["cluster", "create", "--provisioner", "docker", "--name", spec.name,
                "--state", str(files.state), "--talosconfig", str(files.talosconfig),
                "--cidr", spec.cidr, "--controlplanes", str(spec.control_planes),
                "--workers", str(spec.workers), "--cpus", cpus, "--cpus-workers", cpus,
                "--memory", str(spec.memory_mib), "--memory-workers", str(spec.memory_mib), "--wait",
                "--wait-timeout", f"{int(spec.wait_timeout)}s", "--skip-kubeconfig"]
    if spec.kubernetes_version:
        argv += ["--kubernetes-version", spec.kubernetes_version]
    if spec.image:
        argv += ["--image", spec.image]
    for patch in spec.config_patches:
        argv += ["--config-patch", f"@{patch}"]
    return [BINARY, *argv]


def create(version: tuple[int, int, int], spec: LocalCluster, files: Files) -> None:
    argv = create_argv(version, spec, files)
    run(argv, timeout=spec.wait_timeout + 300, env=files.env, hint=INSTALL_HINT)


def destroy_argv(name: str, files: Files) -> list[str]:
    return [BINARY, "cluster", "destroy", "--name", name, "--state", str(files.state), "--force"]


def destroy(name: str, files: Files, timeout: float = 600.0) -> None:
    run(destroy_argv(name, files), timeout=timeout, env=files.env, hint=INSTALL_HINT)


def kubeconfig(files: Files, node: str, *, endpoint: str | None = None, timeout: float = 120.0) -> None:
    """Write the cluster's admin kubeconfig to `files.kubeconfig` (replacing it, never merging)."""
    args = ["--talosconfig", str(files.talosconfig), "kubeconfig", str(files.kubeconfig),
            "--nodes", node, "--force", "--merge=false"]
    if endpoint:
        args += ["--endpoints", endpoint]
    _talosctl(args, files=files, timeout=timeout)


# -- existing nodes (talos-metal) ------------------------------------------------------------
def gen_config(name: str, endpoint: str, *, install_disk: str, output: Path,
               kubernetes_version: str | None = None, config_patches: Sequence[str] = (),
               files: Files | None = None) -> None:
    """`talosctl gen config`: controlplane.yaml, worker.yaml and talosconfig into `output`."""
    args = ["gen", "config", name, f"https://{endpoint}:6443", "--install-disk", install_disk,
            "--output-dir", str(output), "--with-docs=false", "--with-examples=false"]
    if kubernetes_version:
        args += ["--kubernetes-version", kubernetes_version]
    for patch in config_patches:
        args += ["--config-patch", f"@{patch}"]
    _talosctl(args, files=files)


def configured(files: Files, node: str, timeout: float = 30.0) -> bool:
    """True when the node answers with our client certificate; False in maintenance mode (or
    when it does not answer at all: the caller tells the two apart by applying the config)."""
    try:
        _talosctl(["--talosconfig", str(files.talosconfig), "version", "--nodes", node,
                   "--endpoints", node, "--short"], files=files, timeout=timeout)
    except ToolError:
        return False
    return True


def apply_config_insecure(node: str, config: Path, timeout: float = 120.0) -> None:
    _talosctl(["apply-config", "--insecure", "--nodes", node, "--file", str(config)],
              timeout=timeout)


def set_endpoints(files: Files, endpoints: Sequence[str]) -> None:
    _talosctl(["--talosconfig", str(files.talosconfig), "config", "endpoints", *endpoints],
              files=files)


def etcd_running(files: Files, node: str, timeout: float = 30.0) -> bool:
    """Whether etcd runs on `node`, i.e. the cluster was bootstrapped already."""
    out = _talosctl(["--talosconfig", str(files.talosconfig), "service", "etcd", "--nodes", node],
                    files=files, timeout=timeout).stdout
    state = re.search(r"(?m)^\s*STATE\s+(\S+)", out)
    return bool(state and state.group(1).lower() == "running")


def bootstrap(files: Files, node: str, timeout: float = 120.0) -> None:
    _talosctl(["--talosconfig", str(files.talosconfig), "bootstrap", "--nodes", node],
              files=files, timeout=timeout)


def health(files: Files, node: str, *, control_planes: Sequence[str], workers: Sequence[str],
           wait_timeout: float) -> None:
    """`talosctl health`: waits (up to `wait_timeout`) for etcd, Kubernetes and every node."""
    args = ["--talosconfig", str(files.talosconfig), "health", "--nodes", node,
            "--wait-timeout", f"{int(wait_timeout)}s"]
    if control_planes:
        args += ["--control-plane-nodes", ",".join(control_planes)]
    if workers:
        args += ["--worker-nodes", ",".join(workers)]
    _talosctl(args, files=files, timeout=wait_timeout + 60)


def reset(files: Files, node: str, timeout: float = 600.0) -> None:
    """Wipe a node's STATE and EPHEMERAL partitions and reboot it into maintenance mode."""
    _talosctl(["--talosconfig", str(files.talosconfig), "reset", "--nodes", node,
               "--system-labels-to-wipe", "STATE", "--system-labels-to-wipe", "EPHEMERAL",
               "--reboot", "--graceful=false"], files=files, timeout=timeout)
