"""Pure parts of scripts/local-cluster: apt source derivation, address layout, OCI archives,
the DNS wire format and the labapp request handler (run with the host's POSIX sh)."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from localcluster import aptsources, dns, images, network  # noqa: E402
from localcluster.proc import ClusterError  # noqa: E402

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main contrib

Types: deb
Enabled: no
URIs: http://other.example/
Suites: bookworm
Components: main

Types: deb
URIs: https://vendor.example/apt
Suites: nodistro
Components: main
"""


def test_deb_src_is_derived_from_the_release_entries_only() -> None:
    text = aptsources.deb_src_stanzas(aptsources.parse_deb822(DEB822), "bookworm")
    assert text is not None
    stanzas = [s for s in text.split("\n\n") if "Types:" in s]
    assert len(stanzas) == 2
    assert "URIs: http://mirror.example/debian\n" in stanzas[0]
    assert "Suites: bookworm bookworm-updates" in stanzas[0]
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in stanzas[0]
    assert "Components: main contrib" in stanzas[1]
    assert "other.example" not in text and "vendor.example" not in text
    assert all(s.lstrip("#").count("Types: deb-src") == 1 for s in stanzas)


def test_one_line_sources_and_existing_deb_src() -> None:
    entries = aptsources.parse_one_line(
        "# comment\ndeb [signed-by=/k.gpg arch=amd64] http://m.example/debian bookworm main\n"
    )
    assert entries[0].signed_by == "/k.gpg"
    assert entries[0].suites == ("bookworm",)
    text = aptsources.deb_src_stanzas(entries, "bookworm")
    assert text is not None and "URIs: http://m.example/debian" in text
    with_src = entries + aptsources.parse_one_line("deb-src http://m.example/debian bookworm main")
    assert aptsources.deb_src_stanzas(with_src, "bookworm") is None
    with pytest.raises(ValueError, match="no enabled apt entry"):
        aptsources.deb_src_stanzas(entries, "trixie")


def test_layout_avoids_every_host_network() -> None:
    first = network.choose_layout([ipaddress.IPv4Network("192.0.2.0/24")])
    assert first.block == network.CANDIDATE_BLOCKS[0]
    taken = [ipaddress.IPv4Network("10.213.5.0/24")]
    second = network.choose_layout(taken)
    assert second.block == network.CANDIDATE_BLOCKS[1]
    block = ipaddress.IPv4Network(second.block)
    for address in (second.node_ip, second.pod_gateway, second.api_service_ip, second.dns_ip):
        assert ipaddress.IPv4Address(address) in block
    assert ipaddress.IPv4Network(second.pod_cidr).subnet_of(block)
    assert ipaddress.IPv4Network(second.service_cidr).subnet_of(block)
    assert not ipaddress.IPv4Network(second.pod_cidr).overlaps(
        ipaddress.IPv4Network(second.service_cidr)
    )
    everything = [ipaddress.IPv4Network("0.0.0.0/0")]
    with pytest.raises(ClusterError, match="overlaps"):
        network.choose_layout(everything)


def _read_archive(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_oci_archive_is_consistent_and_deterministic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_ENVTEST_DIR", str(tmp_path))
    layer = images.Layer()
    layer.file("app/run", b"#!/bin/sh\necho hi\n", mode=0o755)
    layer.symlink("bin/sh", "busybox")
    layer.directory("tmp", mode=0o1777)
    path = images.write_image("lab.local/test:1", layer, entrypoint=["/app/run"], ports=[80])
    first = path.read_bytes()
    files = _read_archive(path)
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    index = json.loads(files["index.json"])
    entry = index["manifests"][0]
    assert entry["annotations"]["io.containerd.image.name"] == "lab.local/test:1"
    manifest = json.loads(files["blobs/sha256/" + entry["digest"].split(":")[1]])
    config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"].split(":")[1]])
    assert config["config"]["Entrypoint"] == ["/app/run"]
    assert config["config"]["ExposedPorts"] == {"80/tcp": {}}
    assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]]
    layer_blob = files["blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]]
    with tarfile.open(fileobj=io.BytesIO(layer_blob)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["app"].isdir() and members["app/run"].mode == 0o755
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["tmp"].mode == 0o1777
    images.write_image("lab.local/test:1", layer, entrypoint=["/app/run"], ports=[80])
    assert path.read_bytes() == first


def _query(name: str, qtype: int = dns.A, ident: int = 0x1234) -> bytes:
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return header + labels + b"\0" + struct.pack("!HH", qtype, dns.IN)


def test_dns_wire_format_round_trip() -> None:
    query = _query("podinfo.default.svc.cluster.local")
    ident, flags, name, qtype, end = dns.parse_question(query)
    assert (ident, name, qtype, end) == (0x1234, "podinfo.default.svc.cluster.local", dns.A,
                                         len(query))
    assert flags & 0x0100
    reply = dns.build_response(query, dns.NOERROR, ["10.213.200.7", "10.213.200.8"])
    rid, rflags, qd, an = struct.unpack("!HHHH", reply[:8])
    assert (rid, qd, an) == (0x1234, 1, 2)
    assert rflags & 0x8000 and rflags & 0x0400 and rflags & 0x000F == dns.NOERROR
    assert reply.endswith(socket.inet_aton("10.213.200.8"))
    empty = dns.build_response(_query("x.cluster.local", dns.AAAA), dns.NOERROR, ["10.0.0.1"])
    assert struct.unpack("!H", empty[6:8])[0] == 0, "no A records in an AAAA answer"
    nx = dns.build_response(_query("example.com"), dns.NXDOMAIN, [])
    assert struct.unpack("!H", nx[2:4])[0] & 0x000F == dns.NXDOMAIN


def test_dns_answers_without_the_api_for_non_service_names() -> None:
    resolver = dns.Resolver.__new__(dns.Resolver)  # no API connection needed for these
    assert resolver._resolve("example.com") == (dns.NXDOMAIN, [])
    assert resolver._resolve("10-213-1-7.ns.pod.cluster.local") == (dns.NOERROR, ["10.213.1.7"])
    assert resolver._resolve("a.b.c.d.cluster.local") == (dns.NXDOMAIN, [])
    assert resolver._resolve("svc.cluster.local") == (dns.NOERROR, [])


@pytest.mark.skipif(shutil.which("sh") is None or shutil.which("awk") is None,
                    reason="needs a POSIX sh and awk")
@pytest.mark.parametrize(
    ("request_line", "status", "body_part"),
    [
        ("GET / HTTP/1.1", "200", '"message": "greetings from podinfo"'),
        ("GET /healthz HTTP/1.1", "200", '{"status":"OK"}'),
        ("GET /readyz?x=1 HTTP/1.1", "200", '{"status":"OK"}'),
        ("GET /status/503 HTTP/1.1", "503", '{"status":503}'),
        ("GET /nope HTTP/1.1", "404", "404 page not found"),
        ("BREW /pot HTTP/1.1", "405", "method not allowed"),
    ],
)
def test_labapp_handler(
    tmp_path: Path, request_line: str, status: str, body_part: str
) -> None:
    handler = SCRIPTS / "localcluster" / "labapp" / "handle"
    result = subprocess.run(
        ["sh", str(handler)],
        input=f"{request_line}\r\nHost: x\r\nAccept: */*\r\n\r\n".encode(),
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)},
        timeout=10,
        check=True,
    )
    head, _, body = result.stdout.decode().partition("\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ")
    assert f"Content-Length: {len(body.encode())}" in head
    assert body_part in body
    assert f'"{request_line}" {status}' in result.stderr.decode()


def test_labapp_metrics_count_requests(tmp_path: Path) -> None:
    handler = SCRIPTS / "localcluster" / "labapp" / "handle"
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    (tmp_path / "labapp").mkdir()

    def get(path: str) -> str:
        out = subprocess.run(["sh", str(handler)], input=f"GET {path} HTTP/1.1\r\n\r\n".encode(),
                             capture_output=True, env=env, timeout=10, check=True)
        return out.stdout.decode().partition("\r\n\r\n")[2]

    get("/")
    get("/status/500")
    metrics = get("/metrics")
    assert "# TYPE http_requests_total counter" in metrics
    assert 'http_requests_total{status="200"} 1' in metrics
    assert 'http_requests_total{status="500"} 1' in metrics
    assert "# TYPE labapp_info gauge" in metrics
