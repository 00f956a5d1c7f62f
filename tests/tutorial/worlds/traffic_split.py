"""traffic-split: Envoy Gateway and the meter, played on the emulator.

HTTPRoutes attached to the Gateway `shop` get `Accepted` and, when every backendRef names an
existing Service, `ResolvedRefs`. The meter's /split is what its script would print for one round,
with the expected counts instead of random draws: the rules of all routes on the listener are
merged; a request takes the rule with the most header matches that its headers satisfy, and a
rule splits by its backendRefs' weights; no rule at all means every request fails.
"""

from __future__ import annotations

from typing import Any

from tests.tutorial.worlds.base import Answer, Crd, Request, World

NS = "split-demo"
GW = "gateway.networking.k8s.io"


class TrafficSplit(World):
    crds = (Crd(GW, "GatewayClass", "gatewayclasses", ("v1", "v1beta1"), namespaced=False),
            Crd(GW, "Gateway", "gateways", ("v1", "v1beta1")),
            Crd(GW, "HTTPRoute", "httproutes", ("v1", "v1beta1")),
            Crd("gateway.envoyproxy.io", "EnvoyProxy", "envoyproxies", ("v1alpha1",)))

    def react(self) -> None:
        self.on("HTTPRoute", self._route, ("ADDED",))

    def deployed(self) -> None:
        self.serve(NS, "meter", 8080)

    def _route(self, route: dict[str, Any]) -> None:
        spec = route.get("spec") or {}
        refs = [b for r in spec.get("rules") or [] for b in r.get("backendRefs") or []]
        resolved = all(self.get("v1", "Service", route["metadata"]["namespace"], b["name"]) for b in refs)
        conditions = [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                      {"type": "ResolvedRefs", "status": "True" if resolved else "False",
                       "reason": "ResolvedRefs" if resolved else "BackendNotFound"}]
        self.emu.set_status(f"{GW}/v1", "HTTPRoute", route["metadata"]["namespace"], route["metadata"]["name"],
                            {"parents": [{"parentRef": {"name": "shop"},
                                          "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                                          "conditions": conditions}]})

    def _rules(self) -> list[dict[str, Any]]:
        out = []
        for route in self.objects(f"{GW}/v1", "HTTPRoute", NS):
            if not any(p.get("name") == "shop" for p in (route.get("spec") or {}).get("parentRefs") or []):
                continue
            for rule in (route.get("spec") or {}).get("rules") or []:
                for match in rule.get("matches") or [{}]:
                    out.append({"headers": {h["name"].lower(): h["value"] for h in match.get("headers") or []},
                                "backends": rule.get("backendRefs") or []})
        return out

    def _canary_share(self, headers: dict[str, str]) -> float | None:
        """The expected share of the canary for requests with `headers`; None: no rule matches."""
        fitting = [r for r in self._rules() if all(headers.get(k) == v for k, v in r["headers"].items())]
        if not fitting:
            return None
        best = max(fitting, key=lambda r: len(r["headers"]))
        weights = {b["name"]: int(b.get("weight", 1)) for b in best["backends"]}
        total = sum(weights.values())
        return weights.get("shop-canary", 0) / total if total else None

    def answer(self, req: Request) -> Answer:
        if req.service != "meter" or req.path != "/split":
            return super().answer(req)
        window, testers = int(self.params["window"]), int(self.params["testers"])
        target, tolerance = int(self.params["canaryPercent"]), int(self.params["tolerancePercent"])
        plain = self._canary_share({})
        if plain is None:
            stable = canary = 0
            failed = window
        else:
            canary, failed = round(window * plain), 0
            stable = window - canary
        tester_share = self._canary_share({"x-canary": "always"})
        tested = 0 if tester_share is None else round(testers * tester_share)
        pct = canary * 100 // window
        split = "within" if failed == 0 and target - tolerance <= pct <= target + tolerance else "outside"
        routed = "all-canary" if tested == testers else "not-all-canary"
        return 200, (f"window={window} stable={stable} canary={canary} failed={failed} canary_percent={pct}\n"
                     f"split={split} (asked for {target}% +/- {tolerance} on the canary)\n"
                     f"testers={tested}/{testers} testers_routed={routed}\n")
