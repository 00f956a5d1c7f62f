"""From a kubeconfig context to the settings of a connection, without ever writing the file.

The path is resolved at call time (`--kubeconfig` > `$KUBECONFIG` > `~/.kube/config`) rather than
at import, so a changed environment (tests, `lab` run from a script) is honoured. The file is
read by `kubeconfig.py` (lab's own reader: adrs/0022-lab-reads-kubeconfigs-itself.md), its TLS
settings become one `ssl.SSLContext` (`tls.py`) and its user a `Credentials` (`credentials.py`).
A kubeconfig that cannot be read or makes no sense is bad input (`ConfigError`, exit 2) naming
the file, line, context and field, never a token, key or password.

Proxy: the cluster's `proxy-url` (http, https, socks5, socks5h), else as kubectl, `HTTPS_PROXY` or
`HTTP_PROXY` by the server's scheme unless `NO_PROXY` names the server (Go's rules) or the server
is a loopback address.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from illm_lab.base.errors import ClusterError, ConfigError
from illm_lab.kube import tls
from illm_lab.kube.credentials import Credentials
from illm_lab.kube.kubeconfig import Selected, files_of, select

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass(frozen=True)
class Endpoint:
    """Where a connection goes: safe to print and to record (no credentials)."""

    kubeconfig: str
    context: str
    server: str


@dataclass(frozen=True)
class Settings:
    """How to reach one context's API server: what the transport and the port-forward need."""

    server: str  # scheme://host[:port][/prefix], no credentials, no trailing slash
    namespace: str | None  # the context's namespace (kubectl's default for it)
    ssl_context: ssl.SSLContext | None = field(repr=False)  # None for an http server
    tls_server_name: str | None
    proxy_url: str | None = field(repr=False)  # may carry the proxy's password
    credentials: Credentials = field(repr=False)


def kubeconfig_path(explicit: Path | None) -> str:
    """`explicit` > `$KUBECONFIG` (may list several files) > `~/.kube/config`."""
    if explicit is not None:
        return str(explicit)
    return os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def load(kubeconfig: Path | None, context: str | None) -> tuple[Settings, Endpoint]:
    """The settings for `context` of `kubeconfig` (its current context if None). Nothing is sent
    and no exec plugin runs yet: that happens with the first request."""
    path = kubeconfig_path(kubeconfig)
    if not any(os.path.exists(os.path.expanduser(p)) for p in files_of(path)):
        raise ConfigError(f"kubeconfig {path} not found (pass --kubeconfig or set KUBECONFIG)")
    selected = select(path, context)
    cluster = selected.cluster
    server = _server(selected)
    ssl_context = tls.context_for(cluster, selected.user)

    def present(cert: bytes, key: bytes) -> None:
        assert ssl_context is not None
        try:
            tls.load_pair(ssl_context, cert, key)
        except ssl.SSLError:
            raise ClusterError(
                f"user {selected.user.name!r}: the exec credential plugin returned a client certificate"
                " and key that cannot be used together", where=selected.user.where("exec"),
            ) from None

    settings = Settings(
        server=server, namespace=selected.namespace, ssl_context=ssl_context,
        tls_server_name=cluster.tls_server_name, proxy_url=_proxy(selected, server),
        credentials=Credentials(selected, on_certificate=present if ssl_context is not None else None),
    )
    return settings, Endpoint(kubeconfig=path, context=selected.context, server=server)


def _server(selected: Selected) -> str:
    cluster = selected.cluster
    raw = cluster.server
    try:
        parts = urlsplit(raw)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a port out of range or not a number raises
    except ValueError:
        ok = False
    if not ok:
        shown = re.sub(r"//[^/]*@", "//", raw)[:80]  # never a password in the URL
        raise ConfigError(f"context {selected.context!r}: cluster server {shown!r} is not an http(s) URL",
                          where=cluster.where("server"))
    return _without_userinfo(raw).rstrip("/")


def _proxy(selected: Selected, server: str) -> str | None:
    cluster = selected.cluster
    if cluster.proxy_url:
        try:
            parts = urlsplit(cluster.proxy_url)
            ok = parts.scheme in PROXY_SCHEMES and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(
                f"cluster {cluster.name!r}: proxy-url must be an {', '.join(PROXY_SCHEMES)} URL",
                where=cluster.where("proxy-url"),
            )
        return cluster.proxy_url
    parts = urlsplit(server)
    host = parts.hostname or ""
    names = (f"{parts.scheme}_proxy", f"{parts.scheme.upper()}_PROXY")
    variable = next((n for n in names if os.environ.get(n)), None)
    if variable is None or _loopback(host):  # as Go: a loopback server is never proxied
        return None
    chosen = os.environ[variable].strip()
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    if _bypassed(host, parts.port, no_proxy):
        return None
    chosen = chosen if "://" in chosen else f"http://{chosen}"
    if urlsplit(chosen).scheme not in PROXY_SCHEMES:
        raise ConfigError(f"${variable} must be an {', '.join(PROXY_SCHEMES)} URL"
                          f" (it would carry the requests to {server})")
    return chosen


def _loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Does NO_PROXY name `host` (Go's rules, which kubectl follows: `*`, a host or domain and its
    subdomains, an IP address or CIDR, each with an optional port)?"""
    import ipaddress

    host = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port or ""):
            continue
        name = name.strip("[]").rstrip(".")
        if host == name.lstrip(".") or host.endswith("." + name.lstrip(".").lstrip("*.")):
            return True
    return False


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url
