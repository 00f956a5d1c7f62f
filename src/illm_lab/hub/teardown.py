"""`lab hub destroy`: remove what lab created for the hub, never an existing cluster.

The ledger of instance `lab-hub` says what that is: the platform's objects (deleted one by one
on an existing cluster), and the cluster when a provider created it — also when its create died
half-way, since the intent was recorded before the provider started. A `lab-hub` folder in the
state dir without a ledger entry (the ledger was removed) is deleted through its recorded
provider too. OpenBao's keys file goes last: nothing it opens is left.
"""

from __future__ import annotations

import time

from illm_lab.base.events import Emit
from illm_lab.base.steps import Steps
from illm_lab.hub import platform
from illm_lab.hub.bootstrap import HubRequest, notes_to
from illm_lab.hub.results import HubPlan, HubRemoval, PlannedCluster


def plan(request: HubRequest) -> HubPlan:
    """What `destroy` would remove, for the confirmation question."""
    from illm_lab.clusters import registry
    from illm_lab.ledger import Ledger

    ledger = Ledger()
    created = ledger.created_clusters(platform.INSTANCE)
    clusters = [PlannedCluster(c["name"], c.get("provider"), c.get("state")) for c in created.values()]
    leftover = registry.read(platform.CLUSTER)
    if leftover and not any(c.name == platform.CLUSTER for c in clusters):
        clusters.append(PlannedCluster(platform.CLUSTER, leftover.get("provider"), leftover.get("state")))
    objects = sum(len(o.refs) for o in ledger.outstanding(platform.INSTANCE).values())
    return HubPlan(clusters, objects)


def destroy(request: HubRequest, emit: Emit) -> HubRemoval:
    from illm_lab.base.errors import UsageError
    from illm_lab.clusters import ClusterRemoval, delete_by_name
    from illm_lab.config import selection as targets
    from illm_lab.deploy.teardown import remove_everything
    from illm_lab.engine.inventory import Inventory
    from illm_lab.hub.openbao import forget_keys
    from illm_lab.ledger import Ledger

    started = time.monotonic()
    try:
        experiment = platform.load(request.platform).experiment
    except UsageError:
        experiment = platform.minimal()  # destroying must not depend on the manifest's folder
    chosen = None
    if request.kubeconfig or request.context or request.hub_context:
        chosen = targets.select(experiment, [platform.ROLE], kubeconfig=request.kubeconfig,
                                context=request.context,
                                role_contexts={platform.ROLE: request.hub_context})
    steps = Steps(emit, platform.EXPERIMENT)
    ledger = Ledger()
    ok = False
    try:
        with (
            ledger.start(experiment, {}, instance=platform.INSTANCE, command="hub destroy") as run,
            steps("destroy") as step,
        ):
            removed = remove_everything(
                run, ledger, Inventory(experiment.metadata.name, platform.INSTANCE),
                targets=chosen, on_event=notes_to(steps),
            )
            if not any(c.name == platform.CLUSTER for c in removed.clusters):
                action = delete_by_name(platform.CLUSTER, note=steps.note)
                if action != "gone":
                    removed.clusters.append(ClusterRemoval(platform.ROLE, platform.CLUSTER, action))
            keys_removed = forget_keys()
            step.message = f"{removed.deleted} objects deleted{removed.clusters_text()}"
        ok = True
    finally:
        steps.finish(ok)
    return HubRemoval(removed, keys_removed, time.monotonic() - started)



