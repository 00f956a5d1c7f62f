"""The services a tutorial session shows the learner, and how they are reached.

A Service of type LoadBalancer that has an address is used as it is (what a learner would use in
production). Anything else gets a port-forward on 127.0.0.1 — the tutorial's `localPort` when it
is free, else any free port — owned by the run's `Forwards`, so it lives exactly as long as the
session and never outlives the process.

Credentials are read from the cluster's Secrets when the session starts and handed to the
learner's terminal only: `Endpoint.public()` (events, reports, instruction templates) leaves them
out, and they are never written to the progress file or the ledger.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from illm_lab.base.errors import ClusterError
from illm_lab.model.checks import parse_service_ref
from illm_lab.model.experiment import ServiceEndpoint, Tutorial, parse_secret_key_ref
from illm_lab.rendering.render import endpoint_view

if TYPE_CHECKING:
    from illm_lab.conduct.forwards import Forwards
    from illm_lab.kube import Cluster

LOAD_BALANCER, PORT_FORWARD = "load-balancer", "port-forward"


@dataclass
class Endpoint:
    name: str
    service: str
    description: str | None = None
    view: dict[str, Any] | None = None  # what instructions see; None when it could not be opened
    note: str | None = None
    error: str | None = None
    credentials: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str | None:
        return str(self.view["url"]) if self.view else None

    @property
    def via(self) -> str | None:
        return str(self.view["via"]) if self.view else None

    def public(self) -> dict[str, Any]:
        """Everything but the credentials' values (their labels are fine to show)."""
        return {
            "name": self.name, "service": self.service, "url": self.url, "via": self.via,
            "note": self.note, "error": self.error, "credentials": sorted(self.credentials),
        }


def open_endpoints(
    tutorial: Tutorial, clusters: Mapping[str, Cluster], forwards: Forwards
) -> list[Endpoint]:
    return [open_endpoint(spec, clusters, forwards) for spec in tutorial.services]


def open_endpoint(spec: ServiceEndpoint, clusters: Mapping[str, Cluster], forwards: Forwards) -> Endpoint:
    out = Endpoint(spec.name, spec.service, spec.description)
    cluster = clusters.get(spec.cluster)
    if cluster is None:
        out.error = f"no connection to the {spec.cluster} cluster"
        return out
    namespace, name, port = parse_service_ref(spec.service)
    try:
        service = cluster.get("v1", "Service", name, namespace)
        address = load_balancer_address(service, port)
        if address is not None:
            out.view = endpoint_view(spec, address[0], address[1], LOAD_BALANCER)
        else:
            forward = forwards.open(spec.cluster, namespace, name, port, local_port=spec.local_port or 0)
            out.view = endpoint_view(spec, "127.0.0.1", forward.local_port, PORT_FORWARD)
            if forward.requested_port_taken:
                out.note = f"local port {spec.local_port} is taken; using {forward.local_port}"
            try:
                out.note = (out.note + "; " if out.note else "") + f"→ {forward.resolve()}"
            except ClusterError as exc:
                out.error = str(exc)  # the listener stays: it finds the pod once there is one
    except ClusterError as exc:
        out.error = str(exc)
    if spec.credentials:
        out.credentials, problem = read_credentials(cluster, spec.credentials)
        if problem:
            out.error = f"{out.error}; {problem}" if out.error else problem
    return out


def load_balancer_address(service: dict[str, Any] | None, port: str) -> tuple[str, int] | None:
    """(address, service port) of a LoadBalancer Service with an ingress address, else None."""
    spec = (service or {}).get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return None
    ingress = (((service or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    hosts = [str(i.get("ip") or i.get("hostname")) for i in ingress if i.get("ip") or i.get("hostname")]
    host = hosts[0] if hosts else None
    ports = spec.get("ports") or []
    entry = next((p for p in ports if port in (str(p.get("port")), str(p.get("name")))), None)
    if host is None or entry is None:
        return None
    return host, int(entry["port"])


def read_credentials(cluster: Cluster, refs: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """label -> value from Secrets; a problem names the Secret and key, never a value."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for label, ref in refs.items():
        namespace, name, key = parse_secret_key_ref(ref)
        try:
            secret = cluster.get("v1", "Secret", name, namespace)
        except ClusterError as exc:
            missing.append(f"{label} ({ref}: {exc})")
            continue
        raw = ((secret or {}).get("data") or {}).get(key)
        if raw is None:
            missing.append(f"{label} ({ref} not found)")
            continue
        try:
            values[label] = base64.b64decode(str(raw), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            missing.append(f"{label} ({ref} is not base64)")
    return values, ("credentials unavailable: " + ", ".join(missing)) if missing else None
