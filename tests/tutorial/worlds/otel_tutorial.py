"""otel-tutorial: telemetrygen, the OpenTelemetry Collector, Tempo and Prometheus played on the
emulator.

Every Job running telemetrygen against the collector's address sends spans of its `--service`.
The collector adds what its config says — the sender's namespace and Job name, `team` from the
pod label of that name (the only label its k8sattributes extracts), `deployment.environment` —
and forwards them to Tempo, whose tag search finds them; spanmetrics counts them for Prometheus.
A Job sending elsewhere reaches nobody.
"""

from __future__ import annotations

import json
import re

from tests.tutorial.worlds.base import (
    Answer,
    Request,
    World,
    args_of,
    iter_flags,
    labels_of_template,
    matchers,
    prom_vector,
)

COLLECTOR = "otel-collector.otel.svc:4317"


class OtelTutorial(World):
    services = (("tempo", "tempo", 3100), ("monitoring", "kube-prometheus-stack-prometheus", 9090))

    def _traces(self) -> list[dict[str, str]]:
        """The resource attributes of every sender's traces, as they arrive in Tempo."""
        out = []
        for job in self.objects("batch/v1", "Job"):
            args = args_of(job)
            if COLLECTOR not in list(iter_flags(args, "--otlp-endpoint=")):
                continue
            attributes = {"service.name": next(iter_flags(args, "--service="), "telemetrygen"),
                          "k8s.namespace.name": job["metadata"]["namespace"],
                          "k8s.job.name": job["metadata"]["name"], "deployment.environment": "lab"}
            team = labels_of_template(job).get("team")
            if team:
                attributes["team"] = team
            out.append(attributes)
        return out

    def answer(self, req: Request) -> Answer:
        if req.service == "tempo" and req.path == "/api/search":
            want = dict(pair.split("=", 1) for pair in req.q("tags").split() if "=" in pair)
            found = [{"traceID": f"{i:032x}", "rootServiceName": t["service.name"], "rootTraceName": "lets-go"}
                     for i, t in enumerate(self._traces())
                     if all(t.get(k) == v for k, v in want.items())]
            return 200, json.dumps({"traces": found}, separators=(",", ":"))
        if req.service.endswith("-prometheus") and req.path == "/api/v1/query":
            query = req.q("query")
            if not re.fullmatch(r"sum\(spanmetrics_calls_total\{[^}]*\}\)", query):
                return 400, f"query not played: {query}"
            want = matchers(query)
            calls = [t for t in self._traces() if t["service.name"] == want.get("service_name")]
            return prom_vector([({}, 100.0 * len(calls))] if calls else [])
        return super().answer(req)
