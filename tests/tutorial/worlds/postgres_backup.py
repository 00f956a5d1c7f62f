"""postgres-backup: CloudNativePG, PostgreSQL and the Barman Cloud plugin played on the emulator.

Each Cluster has a database state (does public.orders exist, how many rows). The seed Job
writes the rows, a Backup (`method: plugin`) takes a snapshot of its cluster's state, a Job
running `DROP TABLE orders` drops it, and a Cluster bootstrapped with `recovery.source` naming an
`externalClusters` entry that reads an ObjectStore through the plugin starts from the snapshot
whose ID is `recoveryTarget.backupID` — or, without a recovery target, from the server's latest
state, because full recovery replays every archived WAL segment, the accident included. Played
too: the webhook's rule that `targetImmediate` needs `recoveryTarget.backupID`, and that a
plugin's backup is restored only from an external cluster (`recovery.backup` does not reach it). The instances' exporters answer on the
experiment's `<cluster>-metrics` Services with the shop_orders query of `shop-queries`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.tutorial.worlds.base import Answer, Crd, Request, World, args_of

NS = "pg-demo"
BACKUP_ID = "20260101T000000"


class PostgresBackup(World):
    crds = (Crd("postgresql.cnpg.io", "Cluster", "clusters"),
            Crd("postgresql.cnpg.io", "Backup", "backups"),
            Crd("postgresql.cnpg.io", "ScheduledBackup", "scheduledbackups"),
            Crd("barmancloud.cnpg.io", "ObjectStore", "objectstores"))

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.db: dict[str, dict[str, Any]] = {}        # cluster -> {"present": bool, "rows": int}
        self.snapshots: dict[str, dict[str, Any]] = {}  # "<server>/<backup ID>" -> the state it captured
        self.backups: set[str] = set()
        self.done_jobs: set[str] = set()

    def react(self) -> None:
        self.on("Cluster", self._cluster)
        self.on("Backup", self._backup)
        self.on("Job", self._job)

    def deployed(self) -> None:
        for name in ("shop-db-metrics", "shop-db-restored-metrics"):
            self.serve(NS, name, 9187)

    # -- controllers ---------------------------------------------------------------------------
    def _cluster(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if name in self.db:
            return
        spec = obj.get("spec") or {}
        recovery = (spec.get("bootstrap") or {}).get("recovery")
        if recovery is None:
            self.db[name] = {"present": False, "rows": 0}  # initdb: an empty database
        else:
            state = self._recover(recovery, spec.get("externalClusters") or [])
            if state is None:
                return  # refused (as the webhook would), or nothing to restore from
            self.db[name] = state
        self.set_condition(obj, "Ready")

    def _recover(self, recovery: dict[str, Any], external: list[dict[str, Any]]) -> dict[str, Any] | None:
        target = recovery.get("recoveryTarget") or {}
        if target.get("targetImmediate") is not None and not target.get("backupID"):
            return None  # "BackupID is missing"
        source = next((c for c in external if c.get("name") == recovery.get("source")), None)
        if recovery.get("backup") or source is None:
            return None  # plugin-based recovery is supported only with an external cluster
        plugin = source.get("plugin") or {}
        parameters = plugin.get("parameters") or {}
        store = self.get("barmancloud.cnpg.io/v1", "ObjectStore", NS, parameters.get("barmanObjectName", ""))
        if plugin.get("name") != "barman-cloud.cloudnative-pg.io" or store is None:
            return None
        server = parameters.get("serverName") or source["name"]
        if target.get("targetImmediate"):
            snapshot = self.snapshots.get(f'{server}/{target["backupID"]}')
            return dict(snapshot) if snapshot else None  # "no target backup found"
        if not any(key.startswith(f"{server}/") for key in self.snapshots):
            return None  # no base backup of that server in the bucket
        return dict(self.db.get(server, {"present": False, "rows": 0}))  # every WAL segment replayed

    def _backup(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        spec = obj.get("spec") or {}
        cluster = (spec.get("cluster") or {}).get("name", "")
        if name in self.backups or cluster not in self.db:
            return
        if spec.get("method") != "plugin" or (spec.get("pluginConfiguration") or {}).get("name") != "barman-cloud.cloudnative-pg.io":
            return  # this world plays the Barman Cloud plugin only
        self.backups.add(name)
        self.snapshots[f"{cluster}/{BACKUP_ID}"] = dict(self.db[cluster])
        self.emu.set_status("postgresql.cnpg.io/v1", "Backup", NS, name,
                            {"phase": "completed", "backupId": BACKUP_ID})

    def _job(self, obj: dict[str, Any]) -> None:
        """The kubelet runs the Job's script; its SQL (or API call) takes effect."""
        name = obj["metadata"]["name"]
        if obj["metadata"].get("namespace") != NS or name in self.done_jobs:
            return
        self.done_jobs.add(name)
        script = "\n".join(args_of(obj))
        with self.lock:
            if "INSERT INTO orders" in script:
                rows = re.search(r"generate_series\(1, (\d+)\)", script)
                self.db["shop-db"] = {"present": True, "rows": int(rows.group(1)) if rows else 0}
            if re.search(r"DROP TABLE (IF EXISTS )?orders", script):
                self.db["shop-db"] = {"present": False, "rows": 0}
            if "/clusters" in script and "-X POST" in script:
                self._post_cluster(obj, script)

    def _post_cluster(self, job: dict[str, Any], script: str) -> None:
        """A Job that reads the Backup's ID and POSTs the Cluster of its heredoc."""
        body = re.search(r"<<JSON\n(.*?)\nJSON", script, re.S)
        assert body is not None, "the restore Job has no JSON heredoc"
        env = {e["name"]: e.get("value", "") for c in job["spec"]["template"]["spec"]["containers"]
               for e in c.get("env") or []}
        backup = self.get("postgresql.cnpg.io/v1", "Backup", NS, "shop-db-first") or {}
        text = body.group(1).replace("$id", str((backup.get("status") or {}).get("backupId", "")))
        for key, value in env.items():
            text = text.replace(f"${key}", value)
        self.emu.create(json.loads(text))

    # -- the exporters -------------------------------------------------------------------------
    def answer(self, req: Request) -> Answer:
        service = self.get("v1", "Service", req.namespace, req.service) or {}
        cluster = ((service.get("spec") or {}).get("selector") or {}).get("cnpg.io/cluster")
        if req.path != "/metrics" or cluster is None:
            return super().answer(req)
        if cluster not in self.db:
            return 503, f'no endpoints available for service "{req.service}"'
        state = self.db[cluster]
        return 200, (
            "# HELP cnpg_shop_orders_present 1 while the table public.orders exists, 0 once it is gone\n"
            "# TYPE cnpg_shop_orders_present gauge\n"
            f"cnpg_shop_orders_present {1 if state['present'] else 0}\n"
            "# HELP cnpg_shop_orders_rows Rows in public.orders\n"
            "# TYPE cnpg_shop_orders_rows gauge\n"
            f"cnpg_shop_orders_rows {state['rows']}\n"
        )
