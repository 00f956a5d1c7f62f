"""Provider `existing`: any kubeconfig context (EKS, AKS, a colleague's cluster, a home lab).

lab only connects: it never creates such a cluster, and never deletes it — `delete` keeps it,
whatever asks.
"""

from __future__ import annotations

from pathlib import Path

from illm_lab.base.errors import UsageError
from illm_lab.clusters.base import Attached, Note, Provider, Removal, Request, quiet
from illm_lab.model.labconfig import LabConfig


class Existing(Provider):
    name = "existing"
    creates = False

    def __init__(self, config: LabConfig | None = None, config_where: str = "the lab config", *,
                 kubeconfig: Path | None = None, context: str | None = None) -> None:
        super().__init__(config, config_where)
        self._kubeconfig = kubeconfig
        self._context = context

    def create(self, request: Request, note: Note = quiet) -> Attached:
        if self._kubeconfig is None:
            raise UsageError("provider existing needs a kubeconfig (pass --kubeconfig or --context)")
        return Attached(self._kubeconfig, self._context, reused=True)

    def exists(self, name: str) -> bool:
        return True

    def delete(self, name: str, note: Note = quiet) -> Removal:
        note(f"cluster {name} was not created by lab: it is never deleted")
        return "kept"
