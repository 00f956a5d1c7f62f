"""Adapter for the Kubernetes API: everything lab sends to a cluster goes through this package.

Public API (other packages code against these names):

- `connect(kubeconfig, context) -> Cluster` — read-only use of the kubeconfig (read by
  `kubeconfig.py`); ConfigError (exit 2) when it is malformed, `errors.Unreachable` (a
  ClusterError, exit 3) on the first request to a server that does not answer.
- `Cluster` — `server_version`, `get`, `list`, `observe` (list + watch of one object),
  `observe_many` (list + watch by selector), `events`, `pod_logs`,
  `proxy_get`, `create`, `apply` (server-side apply), `delete` (foreground, optional wait), `close`.
- `portforward.PortForward` — a loopback listener forwarding to a Service's pod over the
  API server's WebSocket port-forward (started, re-resolved on failure, closed with its threads).
- `errors` — `ApiError` and its per-status subclasses (`Conflict`, `Invalid`, `NotFound`, ...),
  `Unreachable`, `UnknownKind`, `WaitTimeout`, `WaitFailed`; all are `ClusterError`s.

Importing this package costs urllib3 and the standard library's ssl, not the official
`kubernetes` client: lab reads kubeconfigs itself (adrs/0022-lab-reads-kubeconfigs-itself.md).
Only this package may import `kubernetes` (an import contract); no module needs it at run time
now. Commands still import this package lazily: offline ones never need it.
"""

from __future__ import annotations

from illm_lab.kube import errors
from illm_lab.kube.cluster import FIELD_MANAGER, Cluster, connect
from illm_lab.kube.config import Endpoint
from illm_lab.kube.resources import Resource
from illm_lab.kube.retry import RetryPolicy
from illm_lab.kube.watch import Cancel

__all__ = [
    "FIELD_MANAGER",
    "Cancel",
    "Cluster",
    "Endpoint",
    "Resource",
    "RetryPolicy",
    "connect",
    "errors",
]
