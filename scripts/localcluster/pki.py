"""Certificates for one cluster, made with the `openssl` CLI (no Python crypto dependency).

One CA signs everything (serving, client and the controller-manager's CSR signer); the API
server certificate names 127.0.0.1 and the node IP so the same kubeconfig works through the
host's loopback relay and inside the namespace. Keys are 2048-bit RSA (fast to generate, ~1 s
for the whole set); certificates last 30 days, far beyond a test session.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from .proc import run

DAYS = "30"


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path

    def cert_b64(self) -> str:
        return base64.b64encode(self.cert.read_bytes()).decode()

    def key_b64(self) -> str:
        return base64.b64encode(self.key.read_bytes()).decode()


def _key(path: Path) -> None:
    run(["openssl", "genrsa", "-out", str(path), "2048"])
    path.chmod(0o600)


def make_ca(directory: Path) -> Pair:
    directory.mkdir(parents=True, exist_ok=True)
    pair = Pair(directory / "ca.crt", directory / "ca.key")
    _key(pair.key)
    run([
        "openssl", "req", "-x509", "-new", "-key", str(pair.key), "-out", str(pair.cert),
        "-days", DAYS, "-subj", "/CN=illm-lab-local-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ])
    return pair


def issue(
    ca: Pair,
    directory: Path,
    name: str,
    *,
    common_name: str,
    organization: str | None = None,
    server: bool = False,
    sans: list[str] | None = None,
) -> Pair:
    """A leaf certificate signed by `ca` (client, or server with subjectAltNames)."""
    pair = Pair(directory / f"{name}.crt", directory / f"{name}.key")
    _key(pair.key)
    subject = f"/CN={common_name}" + (f"/O={organization}" if organization else "")
    csr = directory / f"{name}.csr"
    run(["openssl", "req", "-new", "-key", str(pair.key), "-out", str(csr), "-subj", subject])
    usage = "serverAuth,clientAuth" if server else "clientAuth"
    extensions = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if sans:
        extensions.append("subjectAltName=" + ",".join(sans))
    ext_file = directory / f"{name}.ext"
    ext_file.write_text("\n".join(extensions) + "\n")
    run([
        "openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
        "-CAcreateserial", "-out", str(pair.cert), "-days", DAYS, "-extfile", str(ext_file),
    ])
    csr.unlink()
    ext_file.unlink()
    return pair


def service_account_keys(directory: Path) -> Pair:
    """RSA key pair that signs service account tokens (`cert` holds the public key)."""
    pair = Pair(directory / "sa.pub", directory / "sa.key")
    _key(pair.key)
    run(["openssl", "rsa", "-in", str(pair.key), "-pubout", "-out", str(pair.cert)])
    return pair
