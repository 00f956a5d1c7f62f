"""Views of clusters and the hub: `lab hub bootstrap|status|destroy` and the questions they ask."""

from __future__ import annotations

import sys
from typing import Any

from illm_lab.ui.console import err, escape, info, out, table


# -- clusters and the hub (`lab hub ...`) --------------------------------------------------------
def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (stderr); anything but y/yes is no."""
    err.print(escape(question) + " [y/N] ", end="", highlight=False)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def hub_destroy_question(planned: dict[str, Any]) -> str:
    clusters = ", ".join(f"cluster {c['name']} ({c['provider']})" for c in planned["clusters"])
    what = " and ".join(x for x in (f"{planned['objects']} platform objects" if planned["objects"] else "",
                                     clusters) if x)
    return f"Destroy the hub: delete {what or 'nothing lab knows of'}?"


def hub_summary(result: dict[str, Any]) -> None:
    """Per component what the bootstrap created, changed or left alone; then the hub."""
    rows = []
    for comp in result["components"]:
        counts = comp["counts"]
        rows.append([comp["name"], comp.get("namespace") or "", comp.get("chart") or "",
                     str(counts.get("created", 0)), str(counts.get("configured", 0)),
                     str(counts.get("unchanged", 0))])
    if rows:
        table("hub platform", ["COMPONENT", "NAMESPACE", "CHART", "CREATED", "CHANGED", "UNCHANGED"], rows)
    for comp in result["components"]:
        for line in comp["changed"][:20]:
            info(f"  {comp['name']}: {line}")
    for item in result.get("pruned") or []:
        info(f"  pruned: {item.get('kind')} {item.get('name')}")
    cluster = result.get("cluster") or {}
    name = f" {cluster['name']}" if cluster.get("name") else ""
    out.print(escape(f"hub: {cluster.get('provider')}{name}, context {cluster.get('context')}, "
                     f"Kubernetes {cluster.get('version')} — ready in {result['seconds']:.1f}s"),
              highlight=False)
    if result.get("openbao"):
        bao = result["openbao"]
        out.print(escape(f"openbao {bao['service']}: {bao['action']} (keys: {bao['keys']}, mode 0600)"),
                  highlight=False)


def hub_status(data: dict[str, Any]) -> None:
    cluster = data["cluster"]
    where = cluster.get("context") or cluster.get("name") or "?"
    if not cluster.get("reachable"):
        out.print(escape(f"hub {where}: not reachable"), highlight=False)
        return
    out.print(escape(f"hub {where} ({cluster.get('provider')}): Kubernetes {cluster.get('version')}, "
                     f"{cluster.get('message')}"), highlight=False)
    rows = [[c["name"], c.get("namespace") or "", c.get("version") or "", c["state"],
             c.get("message", "")] for c in data["components"]]
    table(None, ["COMPONENT", "NAMESPACE", "VERSION", "STATE", "DETAIL"], rows)


def hub_destroy_summary(result: dict[str, Any]) -> None:
    deleted = sum(1 for r in result["removed"] if r["action"] == "deleted")
    out.print(escape(f"hub: {deleted} platform objects deleted (run {result['run']})"), highlight=False)
    for cluster in result.get("clusters") or []:
        out.print(escape(f"cluster {cluster['name']}: {cluster['action']}"), highlight=False)
    for skipped in result.get("skipped") or []:
        info(f"  {skipped['cluster']}: {skipped['reason']}")

