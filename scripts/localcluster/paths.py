"""Where the tooling keeps its cache (binaries, images) and its per-cluster work directories.

The cache is shared by all runs on a machine and only ever rebuilt when something is missing;
work directories hold everything one running cluster owns, so `down` can find it all.
"""

from __future__ import annotations

import os
from pathlib import Path

BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")


def cache_dir() -> Path:
    """`$LAB_ENVTEST_DIR`, else `$XDG_CACHE_HOME/illm-lab/envtest` (default ~/.cache/...)."""
    explicit = os.environ.get("LAB_ENVTEST_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "illm-lab" / "envtest"


def bin_dir() -> Path:
    return cache_dir() / "bin"


def pause_source() -> Path:
    return cache_dir() / "src" / "pause.c"


def images_dir() -> Path:
    return cache_dir() / "images"


def default_workdir() -> Path:
    """`$XDG_RUNTIME_DIR`-independent default: one fixed directory under /tmp.

    /tmp rather than the XDG state dir because unix socket paths (containerd, the API relay)
    must stay under 108 bytes and the directory is scratch that a reboot may clear.
    """
    return Path(os.environ.get("LAB_LOCAL_CLUSTER_DIR", "/tmp/illm-lab-cluster"))
