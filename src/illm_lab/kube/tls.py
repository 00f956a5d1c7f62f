"""The TLS settings of a kubeconfig context as one `ssl.SSLContext`.

The connection pool and the port-forward WebSocket share the context, so both trust the same
certificate authority and present the same client certificate. A certificate authority is loaded
from memory (`cadata`). Python's ssl module reads a client certificate and key only from files,
so `*-data` ones (and those an exec plugin returns) are written to a temporary file created 0600
(mkstemp's O_EXCL), loaded, and removed before `load_pair` returns: none outlives the call.
"""

from __future__ import annotations

import contextlib
import os
import re
import ssl
import tempfile
from collections.abc import Iterator

from illm_lab.base.errors import ConfigError
from illm_lab.kube.kubeconfig import ClusterInfo, UserInfo


def context_for(cluster: ClusterInfo, user: UserInfo) -> ssl.SSLContext | None:
    """The context for an https server (None for http: no TLS, nothing to present)."""
    if not cluster.server.lower().startswith("https://"):
        return None
    from urllib3.util.ssl_ import create_urllib3_context

    context = create_urllib3_context()  # TLS 1.2 or later, the certificate and host name verified
    if cluster.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cluster.ca_data is not None:
        _load_authority(context, cluster, "certificate-authority-data", cadata=_pem_or_der(cluster.ca_data))
    elif cluster.ca_file is not None:
        _load_authority(context, cluster, "certificate-authority", cafile=cluster.ca_file)
    else:
        context.load_default_certs()
    if user.cert_file or user.cert_data:
        cert = user.cert_data or _read(user, "client-certificate", user.cert_file)
        key = user.key_data or _read(user, "client-key", user.key_file)
        try:
            load_pair(context, cert, key)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"user {user.name!r}: client-certificate and client-key: not a PEM certificate and its"
                f" key ({_reason(exc)})", where=user.where("client-certificate-data" if user.cert_data
                                                          else "client-certificate"),
            ) from None
    return context


def load_pair(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """Present `cert` (PEM, with its chain) and `key` (PEM) from now on; ssl.SSLError when they
    are not a certificate and its key."""
    with _private_file(cert) as cert_path, _private_file(key) as key_path:
        context.load_cert_chain(cert_path, key_path, password=_no_password)


def _no_password() -> bytes:
    """An encrypted key is refused (as kubectl does) rather than prompted for on the terminal."""
    return b""


@contextlib.contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    fd, path = tempfile.mkstemp(prefix="lab-kube-", suffix=".pem")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _load_authority(context: ssl.SSLContext, cluster: ClusterInfo, key: str, *,
                    cafile: str | None = None, cadata: str | bytes | None = None) -> None:
    try:
        context.load_verify_locations(cafile=cafile, cadata=cadata)
    except ssl.SSLError as exc:
        raise ConfigError(f"cluster {cluster.name!r}: {key}: not a certificate ({_reason(exc)})",
                          where=cluster.where(key)) from None
    except OSError as exc:
        raise ConfigError(
            f"cluster {cluster.name!r}: {key}: cannot read {exc.filename or cafile}:"
            f" {exc.strerror or type(exc).__name__}", where=cluster.where(key),
        ) from None


def _read(user: UserInfo, key: str, path: str | None) -> bytes:
    assert path is not None
    try:
        with open(path, "rb") as f:
            return f.read(1 << 20)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"user {user.name!r}: {key}: cannot read {path}: {reason}",
                          where=user.where(key)) from None


def _pem_or_der(data: bytes) -> str | bytes:
    """`cadata` takes PEM as text, DER as bytes."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return data
    return text if "-----BEGIN" in text else data


def _reason(exc: ssl.SSLError) -> str:
    """OpenSSL's reason (`PEM_LIB` -> `pem lib`), without the `(_ssl.c:4020)` of the message."""
    if exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    return re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(exc.strerror or exc)) or "unreadable"
