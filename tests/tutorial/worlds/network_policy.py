"""network-policy: a CNI that enforces NetworkPolicy, played on the emulator.

The monitor in np-other reports whether it reaches the API; the answer is computed with
Kubernetes' ingress semantics from the NetworkPolicies in the store: the API pod is isolated as
soon as a policy selects it; then a connection is allowed only if some selecting policy has an
ingress rule with a matching peer (`podSelector` alone: the policy's namespace; with a
`namespaceSelector` in the same item: pods matching both) and port.
"""

from __future__ import annotations

from typing import Any

from tests.tutorial.worlds.base import Answer, Request, World, labels_of_template

API_PORT = ("http", 9898)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions); an empty one selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}.get(op, False)
        if not ok:
            return False
    return True


class NetworkPolicyWorld(World):
    def deployed(self) -> None:
        self.serve("np-other", "monitor", 8080)

    def _namespace_labels(self, name: str) -> dict[str, str]:
        ns = self.get("v1", "Namespace", None, name) or {"metadata": {}}
        return {**(ns["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}

    def allowed(self, source_ns: str, source_labels: dict[str, str], target_ns: str,
                target_labels: dict[str, str]) -> bool:
        policies = [p for p in self.objects("networking.k8s.io/v1", "NetworkPolicy", target_ns)
                    if "Ingress" in ((p.get("spec") or {}).get("policyTypes") or ["Ingress"])
                    and selects((p.get("spec") or {}).get("podSelector"), target_labels)]
        if not policies:
            return True
        for policy in policies:
            for rule in (policy.get("spec") or {}).get("ingress") or []:
                ports = rule.get("ports") or []
                if ports and not any(p.get("port") in API_PORT for p in ports):
                    continue
                peers = rule.get("from")
                if not peers:
                    return True
                for peer in peers:
                    if "ipBlock" in peer:
                        continue
                    in_ns = (selects(peer["namespaceSelector"], self._namespace_labels(source_ns))
                             if "namespaceSelector" in peer else source_ns == target_ns)
                    if in_ns and selects(peer.get("podSelector"), source_labels):
                        return True
        return False

    def answer(self, req: Request) -> Answer:
        monitor = self.get("apps/v1", "Deployment", "np-other", "monitor")
        if req.service != "monitor" or req.path != "/status" or monitor is None:
            return super().answer(req)
        api = self.get("apps/v1", "Deployment", "np-demo", "api")
        reachable = api is not None and self.allowed(
            "np-other", labels_of_template(monitor), "np-demo", labels_of_template(api))
        return 200, f"api: {'reachable' if reachable else 'blocked'} (from np-other, role=monitor)\n"
