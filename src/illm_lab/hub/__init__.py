"""The hub: one cluster running the lab's platform (Argo CD, Argo Workflows, cert-manager,
External Secrets, OpenBao, Kyverno, metrics-server, Crossplane), declared in a manifest of the
experiment format (`platform/hub/experiment.yaml`).

Public API (`lab hub ...` calls these; they never print, they emit events and return the typed
results of `hub.results`):

- `bootstrap(HubRequest, emit)` — create or attach the hub, apply the platform, open OpenBao.
- `status(HubRequest)` — reachability, Kubernetes version, per-component health.
- `plan(HubRequest)`, `destroy(HubRequest, emit)` — remove what lab created, never an existing
  cluster.

Experiments do not need the hub: `lab conduct` deploys straight to their target clusters.
"""

from __future__ import annotations

from illm_lab.hub.bootstrap import HubRequest, bootstrap
from illm_lab.hub.status import status
from illm_lab.hub.teardown import destroy, plan

__all__ = ["HubRequest", "bootstrap", "destroy", "plan", "status"]
