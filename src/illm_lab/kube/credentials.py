"""A kubeconfig user's credentials, as the Authorization header of each request.

- `token`: sent as is. `tokenFile`: read when the kubeconfig is loaded and again once a minute
  (a projected service-account token rotates; client-go re-reads it the same way); a failed
  re-read keeps the last token. `tokenFile` wins over `token`, a token over an exec plugin.
- `username`/`password`: HTTP basic.
- `exec` (client.authentication.k8s.io/v1 and v1beta1): the plugin runs when a request first
  needs a credential, not when the kubeconfig is read, and its ExecCredential is kept until its
  `expirationTimestamp` (for the life of the process when it has none) in a cache every
  connection of the process shares, so a conduct that connects several times runs it once. A 401
  answer drops the kept credential and the request is sent once more with a new one, as kubectl
  does. A client certificate the plugin returns is loaded into the connection's TLS context.

The plugin runs without a shell; its stdin is closed unless it may be interactive (interactiveMode
IfAvailable or Always, and stdin is a terminal); stdout is read as the ExecCredential; stderr is
passed through, so its prompts and its own error messages reach the user. A plugin that cannot be
run, fails or answers nonsense is one `ClusterError` line (exit 3) naming the file, the user and
the command, never the credential; one that does not return within `EXEC_DEADLINE` seconds
(non-interactive) is stopped.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from illm_lab.base.errors import ClusterError, ConfigError
from illm_lab.kube.kubeconfig import ClusterInfo, ExecPlugin, Selected, UserInfo

EXEC_DEADLINE = 30.0  # seconds a non-interactive exec credential plugin may take
TOKEN_FILE_PERIOD = 60.0  # seconds before a tokenFile is read again
EXPIRY_MARGIN = 10.0  # seconds before its expirationTimestamp a credential is renewed


@dataclass(frozen=True)
class Issued:
    """What an exec plugin returned: a token and/or a client certificate, until `expires`."""

    token: str | None = field(repr=False)
    cert: bytes | None = field(repr=False)
    key: bytes | None = field(repr=False)
    expires: float | None  # time.time(); None: until a 401 says otherwise

    def fresh(self) -> bool:
        return self.expires is None or time.time() < self.expires - EXPIRY_MARGIN


_issued: dict[str, Issued] = {}  # exec plugin (command, args, env, cluster) -> its credential
_issued_lock = threading.Lock()  # also keeps two connections from running one plugin twice


class Credentials:
    """The Authorization header for one context's user; safe to share between threads."""

    def __init__(
        self, selected: Selected, *, on_certificate: Callable[[bytes, bytes], None] | None = None
    ) -> None:
        self.user: UserInfo = selected.user
        self.cluster: ClusterInfo = selected.cluster
        self._on_certificate = on_certificate
        self._lock = threading.Lock()
        self._header: dict[str, str] = {}
        self._read_at = 0.0
        self._applied: Issued | None = None  # the issued certificate loaded into TLS
        self.plugin: ExecPlugin | None = None
        user = self.user
        if user.token_file:
            self._header = _bearer(self._read_token_file(strict=True) or "")
        elif user.token:
            self._header = _bearer(user.token)
        elif user.exec is not None:
            self.plugin = user.exec
        elif user.username or user.password:
            pair = f"{user.username or ''}:{user.password or ''}".encode()
            self._header = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}

    @property
    def refreshable(self) -> bool:
        """Can a 401 be mended by asking again (an exec plugin, a token file)?"""
        return self.plugin is not None or bool(self.user.token_file)

    def headers(self) -> dict[str, str]:
        """The header(s) to send now; runs the exec plugin when its credential is missing or old."""
        if self.plugin is not None:
            issued = self._issue()
            return _bearer(issued.token) if issued.token else {}
        if self.user.token_file and time.monotonic() - self._read_at >= TOKEN_FILE_PERIOD:
            with self._lock:
                token = self._read_token_file(strict=False)
                if token:
                    self._header = _bearer(token)
        return self._header

    def refresh(self, sent: Mapping[str, str]) -> bool:
        """After a 401 to a request that carried the headers `sent`: forget that credential.
        True when the next `headers()` may differ (worth one more attempt)."""
        if self.plugin is not None:
            key = _key(self.plugin, self.cluster)
            with _issued_lock:  # unless another thread has already replaced it
                current = _issued.get(key)
                if current is not None and (
                        not current.token or f"Bearer {current.token}" == sent.get("Authorization")):
                    del _issued[key]
            return True
        if self.user.token_file:
            self._read_at = 0.0
            return True
        return False

    # ------------------------------------------------------------------------------------------
    def _issue(self) -> Issued:
        assert self.plugin is not None
        key = _key(self.plugin, self.cluster)
        with _issued_lock:
            issued = _issued.get(key)
            if issued is None or not issued.fresh():
                issued = _run(self.plugin, self.user, self.cluster)
                _issued[key] = issued
        if issued.cert and issued.key and self._on_certificate and issued is not self._applied:
            with self._lock:
                if issued is not self._applied:
                    self._on_certificate(issued.cert, issued.key)
                    self._applied = issued
        return issued

    def _read_token_file(self, *, strict: bool) -> str | None:
        path = self.user.token_file
        assert path is not None
        self._read_at = time.monotonic()
        try:
            with open(path, encoding="utf-8") as f:
                token = f.read(1 << 16).strip()
        except (OSError, UnicodeDecodeError) as exc:
            if not strict:
                return None
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigError(f"user {self.user.name!r}: tokenFile: cannot read {path}: {reason}",
                              where=self.user.where("tokenFile")) from None
        if not token and strict:
            raise ConfigError(f"user {self.user.name!r}: tokenFile {path} is empty",
                              where=self.user.where("tokenFile"))
        return token or None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _key(plugin: ExecPlugin, cluster: ClusterInfo) -> str:
    info = _cluster_info(cluster) if plugin.provide_cluster_info else None
    return json.dumps([plugin.api_version, plugin.command, plugin.args, plugin.env, info], default=str)


def _cluster_info(cluster: ClusterInfo) -> dict[str, object]:
    """`spec.cluster` of the ExecCredential a plugin is given when it asks (provideClusterInfo)."""
    info: dict[str, object] = {"server": cluster.server}
    ca = cluster.ca_data
    if ca is None and cluster.ca_file:
        try:
            with open(cluster.ca_file, "rb") as f:
                ca = f.read(1 << 20)
        except OSError:
            ca = None
    optional: dict[str, object | None] = {
        "tls-server-name": cluster.tls_server_name, "proxy-url": cluster.proxy_url,
        "insecure-skip-tls-verify": cluster.insecure or None,
        "certificate-authority-data": base64.b64encode(ca).decode() if ca else None,
        "config": cluster.exec_config,
    }
    info.update({k: v for k, v in optional.items() if v is not None})
    return info


def _run(plugin: ExecPlugin, user: UserInfo, cluster: ClusterInfo) -> Issued:
    """Run the plugin once and read its ExecCredential."""
    import subprocess  # for its TimeoutExpired

    what = f"user {user.name!r}: exec credential plugin {plugin.command!r}"
    interactive = plugin.interactive_mode != "Never" and _stdin_is_terminal()
    if plugin.interactive_mode == "Always" and not interactive:
        raise ClusterError(f"{what} needs a terminal (interactiveMode Always) and stdin is not one",
                           where=plugin.where)
    spec: dict[str, object] = {"interactive": interactive}
    if plugin.provide_cluster_info:
        spec["cluster"] = _cluster_info(cluster)
    info = {"apiVersion": plugin.api_version, "kind": "ExecCredential", "spec": spec}
    env = {**os.environ, **dict(plugin.env), "KUBERNETES_EXEC_INFO": json.dumps(info)}
    try:
        returncode, stdout = _call([plugin.command, *plugin.args], env, interactive=interactive)
    except FileNotFoundError:
        hint = f" ({plugin.install_hint})" if plugin.install_hint else ""
        raise ClusterError(f"{what} not found{hint}", where=plugin.where) from None
    except subprocess.TimeoutExpired:
        raise ClusterError(f"{what} did not return within {EXEC_DEADLINE:g} s (stopped)",
                           where=plugin.where) from None
    except OSError as exc:
        raise ClusterError(f"{what} cannot be run: {exc.strerror or type(exc).__name__}",
                           where=plugin.where) from None
    if returncode != 0:
        how = (f"was stopped by signal {-returncode}" if returncode < 0
               else f"failed with exit status {returncode}")
        raise ClusterError(f"{what} {how} (its own message, if any, is above)", where=plugin.where)
    return _read_credential(stdout, plugin, what)


def _call(argv: list[str], env: dict[str, str], *, interactive: bool) -> tuple[int, bytes]:
    """Run a plugin: stdout read, stderr passed through. A non-interactive one runs in its own
    session, so that at its deadline (or on Ctrl-C) the whole group is stopped, children included,
    and none keeps the pipe open."""
    import signal
    import subprocess

    with subprocess.Popen(
        argv, stdin=None if interactive else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None,
        env=env, shell=False, start_new_session=not interactive,
    ) as proc:
        try:
            stdout, _ = proc.communicate(timeout=None if interactive else EXEC_DEADLINE)
        except BaseException:  # the deadline, Ctrl-C
            if not interactive:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.kill()
            raise
    return proc.returncode, stdout


def _read_credential(stdout: bytes, plugin: ExecPlugin, what: str) -> Issued:
    def bad(problem: str) -> ClusterError:
        return ClusterError(f"{what} {problem}", where=plugin.where)

    try:
        data = json.loads(stdout)
    except ValueError:
        raise bad("did not print an ExecCredential (not JSON)") from None
    if not isinstance(data, dict) or data.get("kind") != "ExecCredential":
        raise bad("did not print an ExecCredential (no kind: ExecCredential)")
    if data.get("apiVersion") != plugin.api_version:
        raise bad(f"answered in apiVersion {str(data.get('apiVersion'))[:80]!r}, not {plugin.api_version}")
    status = data.get("status")
    if not isinstance(status, dict):
        raise bad("printed an ExecCredential without a status")
    token, cert, key = (status.get(k) for k in ("token", "clientCertificateData", "clientKeyData"))
    if any(v is not None and not isinstance(v, str) for v in (token, cert, key)):
        raise bad("printed an ExecCredential whose token or certificate is not a string")
    if bool(cert) != bool(key):
        raise bad("returned a client certificate without its key, or a key without its certificate")
    if not token and not cert:
        raise bad("returned neither a token nor a client certificate")
    expires: float | None = None
    stamp = status.get("expirationTimestamp")
    if stamp:
        try:
            expires = datetime.fromisoformat(str(stamp)).timestamp()
        except ValueError:
            raise bad(f"returned an expirationTimestamp that is not RFC 3339: {str(stamp)[:40]!r}") from None
    return Issued(token=token or None, cert=cert.encode() if cert else None,
                  key=key.encode() if key else None, expires=expires)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached
        return False
