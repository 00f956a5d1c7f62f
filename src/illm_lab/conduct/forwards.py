"""The port-forwards of one run: opened on first use, shared, and closed together.

`http` checks with `via: port-forward` and the tutorial session's service endpoints both ask this
registry, so a check of the Service the learner has open in a browser goes through the same tunnel.
The pipeline closes the registry when the run ends — normally, on an error, or on Ctrl-C — which
stops every listener and joins every tunnel thread (kube/portforward.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from illm_lab.base.errors import InputError

if TYPE_CHECKING:
    from illm_lab.kube import Cluster
    from illm_lab.kube.portforward import PortForward


class Forwards:
    def __init__(
        self, clusters: Mapping[str, Cluster], on_error: Callable[[str], None] | None = None
    ) -> None:
        self.clusters = clusters
        self.on_error = on_error
        self._open: dict[tuple[str, str, str, str], PortForward] = {}
        self._lock = threading.Lock()
        self._closed = False

    def open(
        self, role: str, namespace: str, service: str, port: str | int, *, local_port: int = 0
    ) -> PortForward:
        """The forward to `namespace/service:port` on the `role` cluster, started if new. A
        requested `local_port` that is taken falls back to a free one (`requested_port_taken`)."""
        from illm_lab.kube.portforward import PortForward

        key = (role, namespace, service, str(port))
        with self._lock:
            if self._closed:
                raise InputError("the run's port-forwards are closed")
            found = self._open.get(key)
            if found is not None:
                return found
            cluster = self.clusters.get(role)
            if cluster is None:
                raise InputError(f"no connection to the {role} cluster")
            forward = PortForward(
                cluster, namespace, service, port, local_port=local_port, fallback=True,
                on_error=self.on_error,
            ).start()
            self._open[key] = forward
            return forward

    def url(self, role: str, namespace: str, service: str, port: str) -> str:
        """The forward's base URL, once a pod to forward to is known (a ClusterError says why
        there is none, which a check reports instead of a bare connection reset)."""
        forward = self.open(role, namespace, service, port)
        forward.resolve()
        return forward.url

    def close(self) -> None:
        with self._lock:
            self._closed = True
            forwards = list(self._open.values())
            self._open.clear()
        for forward in forwards:
            forward.close()

    def __len__(self) -> int:
        return len(self._open)
