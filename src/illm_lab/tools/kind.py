"""The kind binary: create, list, delete clusters and read their kubeconfig.

`--kubeconfig` is always passed, so kind writes the context `kind-<name>` into the file lab keeps
for that cluster and never into the user's `~/.kube/config`.
"""

from __future__ import annotations

from pathlib import Path

from illm_lab.tools.run import run

BINARY = "kind"
INSTALL_HINT = "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
LABEL = "io.x-k8s.kind.cluster"  # on every node container kind creates


def create_argv(name: str, *, config: Path, kubeconfig: Path, wait: float,
                image: str | None = None) -> list[str]:
    argv = [BINARY, "create", "cluster", "--name", name, "--config", str(config),
            "--kubeconfig", str(kubeconfig), "--wait", f"{int(wait)}s"]
    if image:
        argv += ["--image", image]
    return argv


def create(name: str, *, config: Path, kubeconfig: Path, wait: float, image: str | None = None,
           timeout: float = 900.0) -> None:
    run(create_argv(name, config=config, kubeconfig=kubeconfig, wait=wait, image=image),
        timeout=timeout, hint=INSTALL_HINT)


def clusters(timeout: float = 60.0) -> list[str]:
    """Names of the kind clusters on this machine."""
    out = run([BINARY, "get", "clusters"], timeout=timeout, hint=INSTALL_HINT).stdout
    return [line.strip() for line in out.splitlines() if line.strip() and " " not in line.strip()]


def kubeconfig(name: str, timeout: float = 60.0) -> str:
    """The kubeconfig of cluster `name` as text (it holds credentials: never print it)."""
    return run([BINARY, "get", "kubeconfig", "--name", name], timeout=timeout,
               hint=INSTALL_HINT).stdout


def delete(name: str, *, kubeconfig: Path | None = None, timeout: float = 300.0) -> None:
    argv = [BINARY, "delete", "cluster", "--name", name]
    if kubeconfig is not None:
        argv += ["--kubeconfig", str(kubeconfig)]
    run(argv, timeout=timeout, hint=INSTALL_HINT)
