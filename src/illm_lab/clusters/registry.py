"""What lab knows of each cluster it creates, kept in `<state dir>/clusters/<name>/`.

Per cluster a private folder (0700) holding the kubeconfig and talosconfig the provider wrote
(0600, never merged into the user's files), the provider's own state, and `cluster.json`: the
provider, the role and instance it serves, its subnet and its state (`creating`, `ready`,
`failed`). The record is written *before* the provider starts, like the ledger's intent, so a
half-created cluster always has a folder that `lab kubeconfig`, `lab hub destroy` and subnet
allocation can see. The ledger stays the authority on what a run created; this folder is where
the credentials live.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from illm_lab.base.errors import ConfigError, InputError, ToolError
from illm_lab.base.files import NotFound, read_text, write_atomic
from illm_lab.base.paths import cluster_dir, clusters_dir, ensure_private_dir

RECORD = "cluster.json"


def folder(name: str) -> Path:
    """The cluster's private folder (created 0700 on first use)."""
    return ensure_private_dir(cluster_dir(name))


def kubeconfig_path(name: str) -> Path:
    return cluster_dir(name) / "kubeconfig"


def write_private(path: Path, text: str) -> None:
    """Write `text` atomically and durably to `path`, readable by the owner only (0600)."""
    ensure_private_dir(path.parent)
    write_atomic(path, text)


def make_private(*paths: Path) -> None:
    """chmod 0600 the credential files a tool wrote (tools choose their own modes)."""
    for path in paths:
        if path.is_file():
            path.chmod(0o600)


def read(name: str) -> dict[str, Any] | None:
    path = cluster_dir(name) / RECORD
    try:
        data = json.loads(read_text(path, what="cluster record"))
    except NotFound:
        return None
    except InputError as exc:
        raise ConfigError(exc.message, where=exc.where) from None
    except ValueError:
        raise ConfigError("unreadable cluster record", where=str(path)) from None
    return data if isinstance(data, dict) else None


def write(name: str, **fields: Any) -> dict[str, Any]:
    """Merge `fields` into the record of `name` (None values are dropped) and return it."""
    record = {**(read(name) or {}), **{k: v for k, v in fields.items() if v is not None}, "name": name}
    write_private(folder(name) / RECORD, json.dumps(record, indent=1, sort_keys=True))
    return record


def forget(name: str) -> None:
    """Remove the cluster's folder (credentials included) once the cluster is gone."""
    shutil.rmtree(cluster_dir(name), ignore_errors=True)


def records() -> list[dict[str, Any]]:
    root = clusters_dir()
    if not root.is_dir():
        return []
    out = []
    for child in sorted(root.iterdir()):
        if child.is_dir() and (child / RECORD).is_file():
            record = read(child.name)
            if record is not None:
                out.append(record)
    return out


def current_context(kubeconfig: Path) -> str | None:
    """The `current-context` of a kubeconfig lab wrote (None if it has none)."""
    from illm_lab.base.yamlio import load_file

    if not kubeconfig.is_file():
        return None
    data = load_file(kubeconfig, what="kubeconfig").data
    value = data.get("current-context") if isinstance(data, dict) else None
    return str(value) if value else None


@contextlib.contextmanager
def _subnet_lock() -> Iterator[None]:
    root = ensure_private_dir(clusters_dir())
    fd = os.open(root / ".subnets.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held for milliseconds: parallel conducts queue here
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def allocate_subnet(name: str, pool: str, in_use: Iterable[str] = ()) -> str:
    """A /24 from `pool` that no other lab cluster and no docker network (`in_use`) uses,
    reserved in the cluster's record; the same one again for a cluster that has one.

    The pool's first /24 is skipped: it is talosctl's default, which a user's own
    `talosctl cluster create` takes."""
    with _subnet_lock():
        mine = (read(name) or {}).get("subnet")
        if mine:
            return str(mine)
        others = [str(r["subnet"]) for r in records() if r.get("subnet") and r.get("name") != name]
        taken = [net for net in map(_network, [*in_use, *others])
                 if isinstance(net, ipaddress.IPv4Network)]
        for candidate in list(ipaddress.IPv4Network(pool).subnets(new_prefix=24))[1:]:
            if not any(candidate.overlaps(t) for t in taken):
                write(name, subnet=str(candidate))
                return str(candidate)
    raise ToolError(f"no free /24 left in the Talos subnet pool {pool}: delete unused clusters "
                    "or set talos.subnetPool in the lab config")


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
