"""Where lab keeps its state, cache and config.

XDG locations by default (platformdirs), each overridable by an environment variable so tests
and CI never touch a user's home: `LAB_STATE_DIR`, `LAB_CACHE_DIR`, `LAB_CONFIG` (a file).
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "illm-lab"


def _platformdirs_path(kind: str) -> Path:
    import platformdirs

    getter = {
        "state": platformdirs.user_state_dir,
        "cache": platformdirs.user_cache_dir,
        "config": platformdirs.user_config_dir,
    }[kind]
    return Path(getter(APP))


def state_dir() -> Path:
    env = os.environ.get("LAB_STATE_DIR")
    return Path(env) if env else _platformdirs_path("state")


def cache_dir() -> Path:
    env = os.environ.get("LAB_CACHE_DIR")
    return Path(env) if env else _platformdirs_path("cache")


_config_override: Path | None = None


def use_config_file(path: Path | None) -> None:
    """`--config FILE` for this invocation (None: back to $LAB_CONFIG or the default). Kept here
    rather than in the environment, so it never leaks into the tools and checks lab runs."""
    global _config_override
    _config_override = path


def config_file() -> Path:
    if _config_override is not None:
        return _config_override
    env = os.environ.get("LAB_CONFIG")
    return Path(env) if env else _platformdirs_path("config") / "config.yaml"


def clusters_dir() -> Path:
    """Where lab keeps what it knows of the clusters it creates: one folder per cluster with its
    kubeconfig, talosconfig and provider state (all private to the user)."""
    return state_dir() / "clusters"


def cluster_dir(name: str) -> Path:
    return clusters_dir() / name


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and its missing parents: `mkdir(parents=True)` would make those 0755)
    readable by the owner only; return it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    return path


def experiments_dir(override: Path | str | None = None) -> Path:
    """`--experiments-dir` > `LAB_EXPERIMENTS_DIR` > the `experiments/` folder of the current
    directory or of the nearest one above it (as git finds `.git`, so `lab` works from inside
    `experiments/hello-app`) > `./experiments` (which then does not exist)."""
    if override:
        return Path(override)
    env = os.environ.get("LAB_EXPERIMENTS_DIR")
    if env:
        return Path(env)
    default = Path("experiments")
    if default.is_dir():
        return default
    try:
        here = Path.cwd()
    except OSError:  # the current directory was deleted
        return default
    for folder in here.parents:
        if (folder / "experiments").is_dir():
            return folder / "experiments"
    return default
