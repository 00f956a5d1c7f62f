"""Views of clusters and the hub: `lab hub bootstrap|status|destroy` and the questions they ask."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from illm_lab.ui.console import err, escape, info, out, table

if TYPE_CHECKING:  # the core's result types; their modules load only when a command runs
    from illm_lab.hub.results import HubPlan, HubRemoval, HubResult, HubStatus


# -- clusters and the hub (`lab hub ...`) --------------------------------------------------------
def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (stderr); anything but y/yes is no."""
    err.print(escape(question) + " [y/N] ", end="", highlight=False)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def hub_destroy_question(planned: HubPlan) -> str:
    clusters = ", ".join(f"cluster {c.name} ({c.provider})" for c in planned.clusters)
    objects = f"{planned.objects} platform objects" if planned.objects else ""
    what = " and ".join(x for x in (objects, clusters) if x)
    return f"Destroy the hub: delete {what or 'nothing lab knows of'}?"


def hub_summary(result: HubResult) -> None:
    """Per component what the bootstrap created, changed or left alone; then the hub."""
    rows = [[comp.name, comp.namespace or "", comp.chart or "", str(comp.counts.get("created", 0)),
             str(comp.counts.get("configured", 0)), str(comp.counts.get("unchanged", 0))]
            for comp in result.components]
    if rows:
        table("hub platform", ["COMPONENT", "NAMESPACE", "CHART", "CREATED", "CHANGED", "UNCHANGED"], rows)
    for comp in result.components:
        for line in comp.changed[:20]:
            info(f"  {comp.name}: {line}")
    for item in result.pruned:
        info(f"  pruned: {item.removal.ref.kind} {item.removal.ref.name}")
    cluster = result.cluster
    name = f" {cluster.name}" if cluster.name else ""
    out.print(escape(f"hub: {cluster.provider}{name}, context {cluster.context}, "
                     f"Kubernetes {cluster.version} — ready in {result.seconds:.1f}s"),
              highlight=False)
    if result.openbao is not None:
        bao = result.openbao
        out.print(escape(f"openbao {bao.service}: {bao.action} (keys: {bao.keys}, mode 0600)"),
                  highlight=False)


def hub_status(found: HubStatus) -> None:
    cluster = found.cluster
    where = cluster.context or cluster.name or "?"
    if not found.reachable:
        out.print(escape(f"hub {where}: not reachable"), highlight=False)
        return
    out.print(escape(f"hub {where} ({cluster.provider}): Kubernetes {cluster.health.version}, "
                     f"{cluster.health.message}"), highlight=False)
    rows = [[c.name, c.namespace or "", c.version or "", c.state, c.message] for c in found.components]
    table(None, ["COMPONENT", "NAMESPACE", "VERSION", "STATE", "DETAIL"], rows)


def hub_destroy_summary(result: HubRemoval) -> None:
    removal = result.removal
    out.print(escape(f"hub: {removal.deleted} platform objects deleted (run {removal.run_id})"),
              highlight=False)
    for cluster in removal.clusters:
        out.print(escape(f"cluster {cluster.name}: {cluster.action}"), highlight=False)
    for skipped in removal.skipped:
        info(f"  {skipped.cluster}: {skipped.reason}")
