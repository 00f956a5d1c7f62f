"""keda-autoscaling: Redis, KEDA and the workers' kubelet, played on the emulator.

Producer Jobs fill Redis lists (`LPUSH <list>` run `-lt N` times). A ScaledObject with a `redis`
trigger becomes Ready; while its list has items it activates its target Deployment (replicas
0 → 1), whose Pod pops the items and logs what its loop prints for each (`processed job-N`,
`sent email-N`). A Deployment no ScaledObject targets stays at zero, and its list waits.
"""

from __future__ import annotations

import re
from typing import Any

from tests.tutorial.worlds.base import Crd, World, args_of

NS = "keda-demo"


class KedaAutoscaling(World):
    crds = (Crd("keda.sh", "ScaledObject", "scaledobjects", ("v1alpha1",)),
            Crd("keda.sh", "ScaledJob", "scaledjobs", ("v1alpha1",)),
            Crd("keda.sh", "TriggerAuthentication", "triggerauthentications", ("v1alpha1",)))

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lists: dict[str, list[str]] = {}

    def react(self) -> None:
        self.on("Job", self._producer, ("ADDED",))
        self.on("ScaledObject", self._scaled_object, ("ADDED",))

    def _producer(self, job: dict[str, Any]) -> None:
        script = "\n".join(args_of(job))
        push = re.search(r'LPUSH (\w+) "(\w+)-\$i"', script)
        count = re.search(r'-lt (\d+)', script)
        if push and count:
            with self.lock:
                self.lists.setdefault(push.group(1), []).extend(
                    f"{push.group(2)}-{i}" for i in range(1, int(count.group(1)) + 1))

    def _scaled_object(self, so: dict[str, Any]) -> None:
        spec = so.get("spec") or {}
        target = self.get("apps/v1", "Deployment", NS, (spec.get("scaleTargetRef") or {}).get("name", ""))
        triggers = [t for t in spec.get("triggers") or [] if t.get("type") == "redis"]
        if target is None or not triggers:
            self.set_condition(so, "Ready", "False")
            return
        self.set_condition(so, "Ready")
        items = self.lists.get((triggers[0].get("metadata") or {}).get("listName", ""), [])
        if not items:
            return
        name = target["metadata"]["name"]
        self.emu.patch_object("apps/v1", "Deployment", NS, name, {"spec": {"replicas": 1}}, manager="keda")
        pod = self.pod_for(self.get("apps/v1", "Deployment", NS, name) or target)
        loop = "\n".join(args_of(target))
        said = re.search(r'echo "(\w+) \$\w+"', loop)
        verb = said.group(1) if said else "processed"
        with self.lock:
            lines = "".join(f"{verb} {item}\n" for item in items)
            items.clear()
        self.emu.set_logs(NS, pod, lines)
