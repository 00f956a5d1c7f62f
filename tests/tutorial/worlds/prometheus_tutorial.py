"""prometheus-tutorial: the Prometheus Operator, Prometheus, Grafana's dashboard sidecar and
Alertmanager played on the emulator.

- Prometheus scrapes what ServiceMonitors select, as the operator configures it: a Service in
  the monitor's namespace whose labels match `selector.matchLabels`, on a Service port whose
  *name* the endpoint gives; `up{job=<service>}` is 1 per replica of the Deployments behind it.
- Its rules API lists the alerts of every PrometheusRule.
- Grafana's search finds the dashboards of ConfigMaps labelled `grafana_dashboard: "1"`.
- Alertmanager holds the silences that Jobs POST to `/api/v2/silences`.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from tests.tutorial.worlds.base import Answer, Crd, Request, World, args_of, matchers, prom_vector

OBS = "observability"
COMPACT = (",", ":")


class PrometheusTutorial(World):
    crds = (Crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors"),
            Crd("monitoring.coreos.com", "PrometheusRule", "prometheusrules"),
            Crd("monitoring.coreos.com", "PodMonitor", "podmonitors"))
    services = ((OBS, "kube-prometheus-stack-prometheus", 9090),
                (OBS, "kube-prometheus-stack-alertmanager", 9093),
                (OBS, "kube-prometheus-stack-grafana", 80))

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.silences: list[dict[str, Any]] = []

    def react(self) -> None:
        self.on("Job", self._job, ("ADDED",))

    def _job(self, job: dict[str, Any]) -> None:
        script = "\n".join(args_of(job))
        if "/api/v2/silences" in script and "--post-data" in script:
            found = re.search(r'"name":"(\w+)","value":"([^"]+)"', script)
            if found:
                with self.lock:
                    self.silences.append({"id": f"s{len(self.silences)}", "status": {"state": "active"},
                                          "matchers": [{"name": found.group(1), "value": found.group(2),
                                                        "isRegex": False, "isEqual": True}]})

    def answer(self, req: Request) -> Answer:
        if req.service.endswith("-prometheus") and req.path == "/api/v1/query":
            return self._query(req.q("query"))
        if req.service.endswith("-prometheus") and req.path == "/api/v1/rules":
            return self._rules()
        if req.service.endswith("-grafana") and req.path == "/api/search":
            return self._search(req.q("query"))
        if req.service.endswith("-alertmanager") and req.path == "/api/v2/silences":
            return self._silences(req.q("filter"))
        return super().answer(req)

    # -- Prometheus ----------------------------------------------------------------------------
    def _targets(self) -> list[tuple[dict[str, str], float]]:
        """`up` of every target the ServiceMonitors select."""
        out = []
        for monitor in self.objects("monitoring.coreos.com/v1", "ServiceMonitor"):
            ns = monitor["metadata"]["namespace"]
            spec = monitor.get("spec") or {}
            wanted = (spec.get("selector") or {}).get("matchLabels") or {}
            ports = {e.get("port") for e in spec.get("endpoints") or []}
            for svc in self.objects("v1", "Service", ns):
                labels = svc["metadata"].get("labels") or {}
                if not wanted or any(labels.get(k) != v for k, v in wanted.items()):
                    continue
                if not ports & {p.get("name") for p in (svc.get("spec") or {}).get("ports") or []}:
                    continue
                for _ in range(self._replicas(ns, (svc.get("spec") or {}).get("selector") or {})):
                    out.append(({"job": svc["metadata"]["name"], "namespace": ns}, 1.0))
        return out

    def _replicas(self, ns: str, selector: dict[str, str]) -> int:
        count = 0
        for deploy in self.objects("apps/v1", "Deployment", ns):
            labels = (((deploy.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                count += int((deploy.get("status") or {}).get("readyReplicas") or 0)
        return count

    def _query(self, query: str) -> Answer:
        if not re.fullmatch(r"sum\(up\{[^}]*\}\)", query.strip()):
            return 400, f"query not played: {query}"
        want = matchers(query)
        samples = [v for labels, v in self._targets() if all(labels.get(k) == x for k, x in want.items())]
        return prom_vector([({}, sum(samples))] if samples else [])

    def _rules(self) -> Answer:
        groups = []
        for rule in self.objects("monitoring.coreos.com/v1", "PrometheusRule"):
            for group in (rule.get("spec") or {}).get("groups") or []:
                groups.append({"name": group.get("name"), "rules": [
                    {"name": r.get("alert") or r.get("record"),
                     "type": "alerting" if r.get("alert") else "recording", "query": r.get("expr")}
                    for r in group.get("rules") or []]})
        return 200, json.dumps({"status": "success", "data": {"groups": groups}}, separators=COMPACT)

    # -- Grafana -------------------------------------------------------------------------------
    def _search(self, query: str) -> Answer:
        found = []
        for cm in self.objects("v1", "ConfigMap"):
            if (cm["metadata"].get("labels") or {}).get("grafana_dashboard") != "1":
                continue
            for text in (cm.get("data") or {}).values():
                board = json.loads(text)
                if query.lower() in str(board.get("title", "")).lower():
                    found.append({"uid": board.get("uid"), "title": board.get("title"), "type": "dash-db"})
        return 200, json.dumps(found, separators=COMPACT)

    # -- Alertmanager --------------------------------------------------------------------------
    def _silences(self, filter_: str) -> Answer:
        want = dict(re.findall(r'(\w+)="([^"]*)"', urllib.parse.unquote(filter_)))
        found = [s for s in self.silences
                 if all(any(m["name"] == k and m["value"] == v for m in s["matchers"]) for k, v in want.items())]
        return 200, json.dumps(found, separators=COMPACT)
