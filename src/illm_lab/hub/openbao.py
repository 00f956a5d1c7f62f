"""Initialising and unsealing the hub's OpenBao, with its keys kept 0600 in the state dir.

OpenBao starts sealed and uninitialised, and its pod is not Ready until unsealed (so the
platform declares the component `wait: false`, and the chart's Service publishes not-ready
addresses). lab talks to its HTTP API through the API server's service proxy — no port-forward,
no token in a file under /tmp:

- `GET /v1/sys/init`; when not initialised, `PUT /v1/sys/init` once (never retried: its answer
  is the only copy of the keys), and the unseal keys and root token are written at once to
  `<state dir>/hub/openbao-keys.json` (0600, directory 0700). They are never printed, logged,
  recorded in the ledger or put in an error message.
- `GET /v1/sys/seal-status`; when sealed, `PUT /v1/sys/unseal` with stored keys up to the
  threshold.

Re-running is a no-op on an unsealed OpenBao. One that is initialised but not by lab (no keys
file) is reported, not touched. The platform runs OpenBao standalone (one replica); HA needs each
pod unsealed and is not handled here (adrs/0015-hub-platform-as-an-experiment-manifest.md).
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from illm_lab.base.errors import ClusterError, InputError
from illm_lab.base.files import read_text
from illm_lab.base.paths import ensure_private_dir, state_dir

if TYPE_CHECKING:
    from illm_lab.kube import Cluster

PORT = 8200
SHARES, THRESHOLD = 3, 2
JSON = "application/json"


def keys_path() -> Path:
    return state_dir() / "hub" / "openbao-keys.json"


class OpenBao:
    def __init__(self, cluster: Cluster, namespace: str, service: str = "openbao",
                 port: int = PORT, timeout: float = 15.0) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.service = service
        self.port = port
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              *, once: bool = False) -> dict[str, Any]:
        status, data = self.cluster.proxy_get(
            self.namespace, self.service, self.port, path, method=method, timeout=self.timeout,
            body=json.dumps(body).encode() if body is not None else None,
            content_type=JSON if body is not None else None, attempts=1 if once else 3,
        )
        where = f"OpenBao {self.namespace}/{self.service}: {method} {path}"
        if status >= 400:  # the body may echo what we sent: never show it
            raise ClusterError(f"{where} answered HTTP {status}")
        try:
            out = json.loads(data or b"{}")
        except ValueError:
            raise ClusterError(f"{where}: the answer is not JSON") from None
        if not isinstance(out, dict):
            raise ClusterError(f"{where}: unexpected answer")
        return out

    def wait_answering(self, deadline: float) -> None:
        """Until the API answers `sys/seal-status` (the pod starts, the proxy finds it): bounded
        retries with a growing pause; the pod never becomes Ready while sealed, so there is no
        readiness to watch for."""
        delay = 0.2
        while True:
            try:
                self._call("GET", "/v1/sys/seal-status")
                return
            except ClusterError as exc:
                if time.monotonic() + delay > deadline:
                    raise ClusterError(f"OpenBao did not answer in time: {exc}") from None
            time.sleep(delay)  # backoff between attempts at an HTTP API, not a readiness poll
            delay = min(delay * 2, 5.0)

    def seal_status(self) -> dict[str, Any]:
        data = self._call("GET", "/v1/sys/seal-status")
        return {"initialized": bool(data.get("initialized")), "sealed": bool(data.get("sealed", True)),
                "version": data.get("version")}

    def ensure(self, note: Callable[[str], None] = lambda _m: None) -> str:
        """Initialise (once) and unseal; say what was done."""
        path = keys_path()
        done = []
        if not self._call("GET", "/v1/sys/init").get("initialized"):
            if path.exists():
                old = path.with_name(f"{path.name}.{_stamp()}.replaced")
                path.rename(old)
                note(f"OpenBao lost its data (not initialised any more): old keys moved to {old}")
            answer = self._call("PUT", "/v1/sys/init",
                                {"secret_shares": SHARES, "secret_threshold": THRESHOLD}, once=True)
            _store(path, answer, self)
            done.append("initialised")
            note(f"OpenBao initialised: unseal keys and root token stored in {path} (0600)")
        status = self._call("GET", "/v1/sys/seal-status")
        if not status.get("sealed"):
            return " and ".join(done) if done else "already unsealed"
        keys = _load(path)
        for key in keys:
            status = self._call("PUT", "/v1/sys/unseal", {"key": key})
            if not status.get("sealed"):
                done.append("unsealed")
                return " and ".join(done)
        raise ClusterError(f"OpenBao is still sealed after {len(keys)} unseal keys from {path}")


def _stamp() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _store(path: Path, answer: dict[str, Any], bao: OpenBao) -> None:
    from illm_lab.clusters.registry import write_private

    keys = answer.get("keys_base64") or answer.get("keys")
    if not keys or not answer.get("root_token"):
        raise ClusterError("OpenBao init answered without unseal keys or root token")
    ensure_private_dir(path.parent)
    write_private(path, json.dumps({
        "service": f"{bao.namespace}/{bao.service}", "initializedAt": _stamp(),
        "shares": SHARES, "threshold": THRESHOLD, "unsealKeys": list(keys),
        "rootToken": answer["root_token"],
    }, indent=1))


def _load(path: Path) -> list[str]:
    if not path.is_file():
        raise ClusterError(
            f"OpenBao is sealed and lab has no unseal keys ({path} is missing): it was initialised "
            "outside lab; unseal it by hand or destroy and bootstrap the hub again"
        )
    try:
        data = json.loads(read_text(path, what="OpenBao keys file"))
        return [str(k) for k in data["unsealKeys"]][: int(data.get("threshold", THRESHOLD))]
    except (InputError, ValueError, KeyError, TypeError):
        raise ClusterError(f"unreadable OpenBao keys file {path}") from None


def forget_keys() -> bool:
    """Delete the keys file (after the OpenBao they open is gone)."""
    path = keys_path()
    if path.exists():
        path.unlink()
        return True
    return False
