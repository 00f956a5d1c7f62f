"""Cluster DNS for the local cluster: answers `<service>.<namespace>.svc.cluster.local`.

Debian packages no CoreDNS, and experiments address Services by name (`http://podinfo:9898`),
so this small authoritative server runs in the namespace on the node IP, port 53/UDP, and
kubelet hands it to pods as their nameserver. Each query for a cluster name is answered from
the API server (a GET over one kept-alive connection, cached for a second): ClusterIP
Services give their IP, headless ones their ready endpoint addresses, and
`a-b-c-d.<ns>.pod.cluster.local` its address. Every other name gets NXDOMAIN at once: there is
no upstream, so no query ever leaves the namespace.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import struct
import time
from pathlib import Path

DOMAIN = "cluster.local"
TTL = 5
A, AAAA, ANY, IN = 1, 28, 255, 1
NOERROR, FORMERR, NXDOMAIN, NOTIMP = 0, 1, 3, 4


def parse_question(packet: bytes) -> tuple[int, int, str, int, int]:
    """(id, flags, name, qtype, end offset of the question) of a query."""
    if len(packet) < 12:
        raise ValueError("short packet")
    ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount < 1:
        raise ValueError("no question")
    labels, offset = [], 12
    while True:
        length = packet[offset]
        offset += 1
        if length == 0:
            break
        if length & 0xC0:
            raise ValueError("compressed name in question")
        labels.append(packet[offset : offset + length].decode("ascii", "replace"))
        offset += length
    qtype, _qclass = struct.unpack("!HH", packet[offset : offset + 4])
    return ident, flags, ".".join(labels).lower(), qtype, offset + 4


def build_response(query: bytes, rcode: int, addresses: list[str]) -> bytes:
    ident, flags, _name, qtype, end = parse_question(query)
    answers = [a for a in addresses if qtype in (A, ANY)]
    out_flags = 0x8000 | 0x0400 | 0x0080 | (flags & 0x0100) | rcode  # QR, AA, RA, RD
    header = struct.pack("!HHHHHH", ident, out_flags, 1, len(answers), 0, 0)
    body = query[12:end]
    for address in answers:
        body += struct.pack("!HHHIH", 0xC00C, A, IN, TTL, 4) + socket.inet_aton(address)
    return header + body


class Resolver:
    """Looks names up in the API server; caches answers for a second."""

    def __init__(self, port: int, pki: Path) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self.conn: http.client.HTTPSConnection | None = None
        self.cache: dict[str, tuple[float, int, list[str]]] = {}

    def _get(self, path: str) -> dict[str, object] | None:
        for _attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, context=self.context, timeout=2
                )
            try:
                self.conn.request("GET", path, headers={"Accept": "application/json"})
                response = self.conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                continue
            return json.loads(data) if response.status == 200 else None
        return None

    def _service(self, name: str, namespace: str) -> list[str] | None:
        service = self._get(f"/api/v1/namespaces/{namespace}/services/{name}")
        if not isinstance(service, dict):
            return None
        spec = service.get("spec", {})
        assert isinstance(spec, dict)
        cluster_ip = spec.get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            return [str(cluster_ip)]
        endpoints = self._get(f"/api/v1/namespaces/{namespace}/endpoints/{name}") or {}
        subsets = endpoints.get("subsets") or []
        assert isinstance(subsets, list)
        return [a["ip"] for s in subsets for a in s.get("addresses", [])]

    def lookup(self, name: str) -> tuple[int, list[str]]:
        cached = self.cache.get(name)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        rcode, addresses = self._resolve(name)
        self.cache[name] = (time.monotonic() + 1.0, rcode, addresses)
        return rcode, addresses

    def _resolve(self, name: str) -> tuple[int, list[str]]:
        suffix = "." + DOMAIN
        if not name.endswith(suffix):
            return NXDOMAIN, []
        parts = name[: -len(suffix)].split(".")
        if len(parts) == 3 and parts[2] == "svc":
            found = self._service(parts[0], parts[1])
            return (NXDOMAIN, []) if found is None else (NOERROR, found)
        if len(parts) == 3 and parts[2] == "pod":
            try:
                return NOERROR, [str(ipaddress.IPv4Address(parts[0].replace("-", ".")))]
            except ValueError:
                return NXDOMAIN, []
        if name in (f"svc{suffix}", DOMAIN) or (len(parts) == 2 and parts[1] == "svc"):
            return NOERROR, []  # existing interior names: no data, but not NXDOMAIN
        return NXDOMAIN, []


def serve(bind: str, port: int, api_port: int, pki: Path) -> None:
    resolver = Resolver(api_port, pki)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, port))
    while True:
        packet, peer = sock.recvfrom(4096)
        try:
            _ident, flags, name, qtype, _end = parse_question(packet)
        except (ValueError, IndexError, struct.error):
            continue
        if flags & 0x7800:  # not a standard query
            reply = build_response(packet, NOTIMP, [])
        else:
            rcode, addresses = resolver.lookup(name)
            reply = build_response(packet, rcode, addresses if qtype in (A, ANY) else [])
        sock.sendto(reply, peer)
