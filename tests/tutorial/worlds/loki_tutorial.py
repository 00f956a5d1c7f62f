"""loki-tutorial: the workloads' stdout, the node log shipper and Loki, played on the emulator.

Every Deployment's and Pod's container in the tutorial's namespace writes the lines its shell
loop echoes (variables and arithmetic shown as 1), the shipper sends them with the pod's namespace
and container as labels, and Loki's query_range answers a stream selector with an optional
`|= "text"` line filter.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.tutorial.worlds.base import Answer, Request, World

NS = "logs-demo"


def echoed(script: str) -> list[str]:
    """The lines a shell loop's `echo "..."` commands print, with $i and $((...)) as 1."""
    out = []
    for text in re.findall(r'echo "((?:[^"\\]|\\.)*)"', script):
        text = re.sub(r"\$\(\([^)]*\)\)|\$\w+", "1", text)
        out.append(text.replace('\\"', '"'))
    return out


class LokiTutorial(World):
    services = (("loki", "loki", 3100),)

    def _streams(self) -> list[tuple[dict[str, str], list[str]]]:
        found = []
        pods: list[tuple[str, dict[str, Any]]] = [
            (d["metadata"]["name"], (d.get("spec") or {}).get("template", {}).get("spec") or {})
            for d in self.objects("apps/v1", "Deployment", NS)]
        pods += [(p["metadata"]["name"], p.get("spec") or {}) for p in self.objects("v1", "Pod", NS)]
        for pod, spec in pods:
            for c in spec.get("containers") or []:
                script = "\n".join(str(a) for a in (c.get("command") or []) + (c.get("args") or []))
                found.append(({"namespace": NS, "pod": pod, "container": c.get("name", "")}, echoed(script)))
        return found

    def answer(self, req: Request) -> Answer:
        if req.path != "/loki/api/v1/query_range":
            return super().answer(req)
        query = req.q("query")
        selector = dict(re.findall(r'(\w+)="([^"]*)"', query.split("}")[0]))
        needle = re.search(r'\|=\s*"([^"]*)"', query)
        result = []
        for labels, lines in self._streams():
            if any(labels.get(k) != v for k, v in selector.items()):
                continue
            hits = [line for line in lines if not needle or needle.group(1) in line]
            if hits:
                result.append({"stream": labels, "values": [[str(10**18 + i), line] for i, line in enumerate(hits)]})
        return 200, json.dumps({"status": "success", "data": {"resultType": "streams", "result": result}})
