"""Applying a checkpoint's solution: what the learner is asked to do, done by lab.

Non-interactive runs (CI) apply each checkpoint's `solution` manifests just before its checks, so
a passing CI run proves the tutorial can be completed as written. The objects go through the
engine like any component — inventory labels, intent recorded in the ledger first — under the
component `solution-<checkpoint>`, so the teardown (or `lab down`) removes them with the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from illm_lab.base.errors import LabError
from illm_lab.checks.result import CheckResult
from illm_lab.rendering.render import Rendering

if TYPE_CHECKING:
    from illm_lab.engine.inventory import Inventory
    from illm_lab.kube import Cluster
    from illm_lab.ledger import Run


def apply_solution(
    run: Run,
    rendering: Rendering,
    inventory: Inventory,
    clusters: Mapping[str, Cluster],
    checkpoint: str,
    on_event: Callable[[Any], None] | None = None,
) -> CheckResult | None:
    """Apply the solution of `checkpoint` if it has one; a failed CheckResult if that failed."""
    from illm_lab.engine.apply import Applier, plan

    comp = rendering.solutions.get(checkpoint)
    if comp is None or not comp.objects:
        return None
    started = time.monotonic()
    try:
        cluster = clusters[comp.cluster]
        desired = plan([(comp.name, comp.objects)], inventory)
        Applier(
            cluster, inventory, recorder=run.recorder(comp.cluster), role=comp.cluster, on_event=on_event
        ).apply(desired)
    except (LabError, KeyError) as exc:
        return CheckResult(
            name="solution applies", type="solution", cluster=comp.cluster, passed=False,
            message=f"the solution of checkpoint {checkpoint} could not be applied: {exc}",
            duration=time.monotonic() - started, attempts=1, checkpoint=checkpoint,
        )
    return None
