"""argocd-gitops: Argo CD's application controller played on the emulator.

An Application whose source is the experiment's repository, tag and folder is rendered to what
that folder holds (a Deployment `podinfo`) and applied to its destination namespace — if that
namespace exists or the Application may create it; then it is Synced and Healthy. Any other
source fails to sync, as a wrong repository, tag or path would.
"""

from __future__ import annotations

from typing import Any

from tests.tutorial.worlds.base import Crd, World

API = "argoproj.io/v1alpha1"


class ArgocdGitops(World):
    crds = (Crd("argoproj.io", "Application", "applications", ("v1alpha1",)),
            Crd("argoproj.io", "AppProject", "appprojects", ("v1alpha1",)))

    def react(self) -> None:
        self.on("Application", self._application, ("ADDED",))

    def _application(self, app: dict[str, Any]) -> None:
        spec = app.get("spec") or {}
        source, dest = spec.get("source") or {}, spec.get("destination") or {}
        wanted = (self.params["gitRepo"], self.params["gitRevision"], self.params["gitPath"])
        ns = dest.get("namespace", "")
        creates = "CreateNamespace=true" in ((spec.get("syncPolicy") or {}).get("syncOptions") or [])
        meta = app["metadata"]
        if (source.get("repoURL"), source.get("targetRevision"), source.get("path")) != wanted or (
                self.get("v1", "Namespace", None, ns) is None and not creates):
            self.emu.set_status(API, "Application", meta["namespace"], meta["name"],
                                {"sync": {"status": "OutOfSync"}, "health": {"status": "Missing"}})
            return
        labels = {"app": "podinfo"}
        self.emu.apply({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "podinfo", "namespace": ns, "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "podinfod", "image": "podinfo"}]}}},
        }, manager="argocd-controller")
        self.emu.set_status(API, "Application", meta["namespace"], meta["name"],
                            {"sync": {"status": "Synced", "revision": source["targetRevision"]},
                             "health": {"status": "Healthy"}})
