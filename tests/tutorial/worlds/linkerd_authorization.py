"""linkerd-authorization: Linkerd's proxies and policy controller, played on the emulator.

Each caller Deployment gets a Pod (with a linkerd-proxy container, as the injector adds) whose
log says, once a second, whether the server's proxy let it in. The decision follows Linkerd's
inbound policy: no Server for the port — the default `all-unauthenticated`, allowed; a Server
selecting the server's pods — allowed only by an AuthorizationPolicy targeting it whose required
authentications all accept the caller (a MeshTLSAuthentication naming its ServiceAccount, or a
NetworkAuthentication). Every change of policy appends three fresh lines per caller, so the last
lines always tell the current state, as the real loops would a few seconds later.
"""

from __future__ import annotations

from typing import Any

from tests.tutorial.worlds.base import Crd, World, labels_of_template

NS = "authz-demo"
POLICY = "policy.linkerd.io"
CALLERS = ("client", "outsider")


class LinkerdAuthorization(World):
    crds = (Crd(POLICY, "Server", "servers", ("v1beta3", "v1beta2", "v1beta1", "v1alpha1")),
            Crd(POLICY, "AuthorizationPolicy", "authorizationpolicies", ("v1alpha1",)),
            Crd(POLICY, "MeshTLSAuthentication", "meshtlsauthentications", ("v1alpha1",)),
            Crd(POLICY, "NetworkAuthentication", "networkauthentications", ("v1alpha1",)),
            Crd(POLICY, "ServerAuthorization", "serverauthorizations", ("v1beta1",)),
            Crd(POLICY, "HTTPRoute", "httproutes", ("v1beta3",)),
            Crd("cert-manager.io", "Certificate", "certificates"),
            Crd("cert-manager.io", "ClusterIssuer", "clusterissuers", namespaced=False),
            Crd("trust.cert-manager.io", "Bundle", "bundles", ("v1alpha1",), namespaced=False))

    def react(self) -> None:
        self.on("Deployment", self._deployment, ("ADDED",))
        for kind in ("Server", "AuthorizationPolicy", "MeshTLSAuthentication", "NetworkAuthentication"):
            self.on(kind, lambda _obj: self._log_all(), ("ADDED", "MODIFIED", "DELETED"))

    def _deployment(self, deploy: dict[str, Any]) -> None:
        if deploy["metadata"].get("namespace") != NS or deploy["metadata"]["name"] not in CALLERS:
            return
        template = deploy["spec"]["template"]
        injected = {**deploy, "spec": {**deploy["spec"], "template": {**template, "spec": {
            **template["spec"],
            "containers": [*template["spec"]["containers"], {"name": "linkerd-proxy", "image": "proxy"}]}}}}
        self.pod_for(injected)
        self._log(deploy["metadata"]["name"])

    def _log_all(self) -> None:
        for caller in CALLERS:
            if self.get("apps/v1", "Deployment", NS, caller) is not None:
                self._log(caller)

    def _log(self, caller: str) -> None:
        verdict = "allowed (200)" if self.allowed(caller) else "denied (403)"
        self.emu.append_logs(NS, f"{caller}-x1", f"{caller} -> server: {verdict}\n" * 3, container="caller")

    def allowed(self, caller: str) -> bool:
        server = self.get("apps/v1", "Deployment", NS, "server")
        pod_labels = labels_of_template(server) if server else {}
        servers = [s for s in self.objects(f"{POLICY}/v1beta3", "Server", NS)
                   if all(pod_labels.get(k) == v for k, v in
                          (((s.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {}).items())
                   and (s.get("spec") or {}).get("port") in ("http", 9898)]
        if not servers:
            return True
        names = {s["metadata"]["name"] for s in servers}
        for policy in self.objects(f"{POLICY}/v1alpha1", "AuthorizationPolicy", NS):
            spec = policy.get("spec") or {}
            target = spec.get("targetRef") or {}
            if target.get("kind") != "Server" or target.get("name") not in names:
                continue
            refs = spec.get("requiredAuthenticationRefs") or []
            if refs and all(self._authenticates(ref, caller) for ref in refs):
                return True
        return False

    def _authenticates(self, ref: dict[str, Any], caller: str) -> bool:
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "NetworkAuthentication":
            return self.get(f"{POLICY}/v1alpha1", kind, NS, name) is not None
        if kind != "MeshTLSAuthentication":
            return False
        auth = self.get(f"{POLICY}/v1alpha1", kind, NS, name)
        if auth is None:
            return False
        spec = auth.get("spec") or {}
        identity = f"{caller}.{NS}.serviceaccount.identity.linkerd.cluster.local"
        return identity in (spec.get("identities") or []) or any(
            r.get("kind") == "ServiceAccount" and r.get("name") == caller
            and r.get("namespace", NS) == NS for r in spec.get("identityRefs") or [])
