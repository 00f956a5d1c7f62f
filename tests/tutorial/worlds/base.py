"""What a tutorial's charts and controllers would do, played on the API emulator.

The emulator stores objects and (with `auto_ready`) marks workloads ready; it runs no operator,
no proxy and no database. A `World` plays exactly the parts of those a tutorial's checkpoints
look at, derived from the objects in the emulator's store at the moment a check asks:

- `crds`: the custom resource kinds the experiment's charts would install;
- `services`: the Services the charts would create, each answered by `answer()` through the
  emulator's service proxy (one loopback HTTP server for all of them);
- `on_*` callbacks registered in `react()`: what an operator or kubelet does when an object
  appears (a status condition, a Pod with logs, a scaled Deployment).

Answers are computed from the live objects, never from which checkpoint the test is on: a
checkpoint's checks fail until the objects its solution creates exist, as on a real cluster.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.support.emulator import LabEmulator


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    plural: str
    versions: tuple[str, ...] = ("v1",)
    namespaced: bool = True

    def manifest(self) -> dict[str, Any]:
        schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{self.plural}.{self.group}"},
            "spec": {
                "group": self.group,
                "scope": "Namespaced" if self.namespaced else "Cluster",
                "names": {"plural": self.plural, "singular": self.kind.lower(), "kind": self.kind},
                "versions": [
                    {"name": v, "served": True, "storage": i == 0, "subresources": {"status": {}},
                     "schema": schema}
                    for i, v in enumerate(self.versions)
                ],
            },
        }


@dataclass
class Request:
    namespace: str
    service: str
    port: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)

    def q(self, key: str, default: str = "") -> str:
        return self.query.get(key, default)


Answer = tuple[int, str]


class World:
    """Base class: subclasses set `crds` and `services` and override `react()` and `answer()`."""

    crds: tuple[Crd, ...] = ()
    services: tuple[tuple[str, str, int], ...] = ()  # (namespace, name, port) a chart would create

    def __init__(self, emu: LabEmulator, params: dict[str, Any]) -> None:
        self.emu = emu
        self.params = params
        self._server: http.server.ThreadingHTTPServer | None = None
        self.lock = threading.RLock()

    # -- set-up, in the order the test calls it ------------------------------------------------
    def install_crds(self) -> None:
        for crd in self.crds:
            self.emu.create(crd.manifest())

    def install_services(self) -> None:
        """Stub the chart's Services (namespaces exist by now) and answer them."""
        world = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_HEAD(self) -> None:
                self._handle("HEAD")

            def _handle(self, method: str) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                _, ns, svc, port, *rest = parsed.path.split("/")
                query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
                req = Request(ns, svc, port, method, "/" + "/".join(rest), query,
                              {k.lower(): v for k, v in self.headers.items()})
                try:
                    with world.lock:
                        status, body = world.answer(req)
                except Exception as exc:  # a world bug must show up in the check's message
                    status, body = 599, f"world error: {type(exc).__name__}: {exc}"
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{self._server.server_address[1]}"
        for ns, name, port in self.services:
            if self.emu.get("v1", "Service", ns, name) is None:
                self.emu.create({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                    "spec": {"ports": [{"name": f"p{port}", "port": port, "protocol": "TCP"}]},
                })
            self.emu.register_backend(ns, name, port, f"{base}/{ns}/{name}/{port}")

    def serve(self, namespace: str, name: str, port: int) -> None:
        """Answer a Service the experiment's own manifests create (the test applied it)."""
        assert self._server is not None
        base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.emu.register_backend(namespace, name, port, f"{base}/{namespace}/{name}/{port}")

    def react(self) -> None:
        """Register controller callbacks (before the experiment's objects are applied)."""

    def deployed(self) -> None:
        """The experiment's own components are applied: play what happened before the learner came."""

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- answers -------------------------------------------------------------------------------
    def answer(self, req: Request) -> Answer:
        return 404, f"{req.namespace}/{req.service}:{req.port}{req.path}: not played by this world"

    # -- helpers for subclasses ----------------------------------------------------------------
    def objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.emu.list(api_version, kind, namespace)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.emu.get(api_version, kind, namespace, name)

    def set_condition(self, obj: dict[str, Any], ctype: str, status: str = "True", **extra: Any) -> None:
        meta = obj["metadata"]
        conditions = [c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") != ctype]
        conditions.append({"type": ctype, "status": status, "reason": "Played", "message": "",
                           "lastTransitionTime": "2026-01-01T00:00:00Z"})
        self.emu.set_status(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"],
                            {**extra, "conditions": conditions})

    def pod_for(self, deployment: dict[str, Any], suffix: str = "x1") -> str:
        """The Pod a Deployment's ReplicaSet would run (labels of its template), Running and Ready."""
        meta = deployment["metadata"]
        template = (deployment.get("spec") or {}).get("template") or {}
        name = f"{meta['name']}-{suffix}"
        if self.emu.get("v1", "Pod", meta["namespace"], name) is None:
            self.emu.create({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": meta["namespace"],
                             "labels": dict((template.get("metadata") or {}).get("labels") or {})},
                "spec": dict(template.get("spec") or {"containers": [{"name": "c", "image": "x"}]}),
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            })
        return name

    def on(self, kind: str, callback: Any, types: tuple[str, ...] = ("ADDED", "MODIFIED")) -> None:
        self.emu.on_event(kind, callback, types)


def prom_vector(samples: list[tuple[dict[str, str], float]]) -> Answer:
    """A Prometheus instant-query answer."""
    result = [{"metric": labels, "value": [0, str(value)]} for labels, value in samples]
    return 200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})


def matchers(query: str) -> dict[str, str]:
    """The `name="value"` label matchers of a PromQL selector (equality only)."""
    import re

    return dict(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"', query))


def args_of(job: dict[str, Any]) -> list[str]:
    """Command and args of every container of a Job's (or Deployment's) pod template, as one list."""
    spec = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    out: list[str] = []
    for c in spec.get("containers") or []:
        out += [str(a) for a in (c.get("command") or [])] + [str(a) for a in (c.get("args") or [])]
    return out


def labels_of_template(obj: dict[str, Any]) -> dict[str, str]:
    template = (obj.get("spec") or {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {})


def iter_flags(args: list[str], prefix: str) -> Iterator[str]:
    for a in args:
        for word in a.split():
            if word.startswith(prefix):
                yield word[len(prefix):].strip(",")
