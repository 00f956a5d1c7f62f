"""Kubeconfig files, read the way kubectl reads them, without the `kubernetes` package.

Why lab reads them itself: importing the official client only to read this file cost every
`lab apply`, `lab diff` and `lab conduct` about a quarter of a second before its first request
(adrs/0022-lab-reads-kubeconfigs-itself.md, docs/benchmarks.md P2).

What is read: contexts (cluster, user, namespace) and `current-context`; clusters (`server`,
`certificate-authority` or `-data`, `insecure-skip-tls-verify`, `tls-server-name`, `proxy-url`,
the `client.authentication.k8s.io/exec` extension handed to exec plugins); users (`token`,
`tokenFile`, `client-certificate`/`client-key` or their `-data`, `username`/`password`, `exec`
plugins of client.authentication.k8s.io/v1 and v1beta1). An `auth-provider` is refused with a
message naming the exec plugin to use instead (kubectl itself dropped the built-in providers).

Several files ($KUBECONFIG=a:b) merge as kubectl merges them: a missing file is skipped, the first
file that names a cluster, user or context wins for that name, and the first file that sets
`current-context` wins. A name twice in one file is refused. Paths (certificate-authority,
client-certificate, client-key, tokenFile, an exec command with a `/` in it) are resolved against
the directory of the file that holds them; `~` is expanded.

Every error is a `ConfigError` (exit 2) that names the file and line, the context and the field,
never a value: tokens, passwords and keys stay out of messages and of these objects' reprs.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from illm_lab.base.errors import ConfigError, InputError
from illm_lab.base.yamlio import Document, PathKey, format_path, load_all, read_text

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
EXEC_EXTENSION = "client.authentication.k8s.io/exec"
# what to use instead of each auth-provider kubectl once had built in
_PROVIDER_HINTS = {
    "oidc": "kubelogin (kubectl oidc-login)",
    "gcp": "gke-gcloud-auth-plugin",
    "azure": "kubelogin (Azure)",
}


@dataclass(frozen=True)
class ExecPlugin:
    """A user's `exec` credential plugin, as configured (nothing has run yet)."""

    api_version: str
    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = field(repr=False)
    interactive_mode: str
    provide_cluster_info: bool
    install_hint: str
    where: str  # file:line of the `exec` key


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    server: str
    ca_file: str | None
    ca_data: bytes | None = field(repr=False)
    insecure: bool
    tls_server_name: str | None
    proxy_url: str | None = field(repr=False)  # may carry a proxy password
    exec_config: Any = field(repr=False)  # the extension an exec plugin receives
    wheres: Mapping[str, str] = field(repr=False)  # key -> file:line, for later errors

    def where(self, key: str = "") -> str:
        return self.wheres.get(key) or self.wheres[""]


@dataclass(frozen=True)
class UserInfo:
    name: str
    token: str | None = field(repr=False)
    token_file: str | None
    cert_file: str | None
    cert_data: bytes | None = field(repr=False)
    key_file: str | None
    key_data: bytes | None = field(repr=False)
    username: str | None
    password: str | None = field(repr=False)
    exec: ExecPlugin | None
    wheres: Mapping[str, str] = field(repr=False)

    def where(self, key: str = "") -> str:
        return self.wheres.get(key) or self.wheres[""]


@dataclass(frozen=True)
class Selected:
    """One context of a (merged) kubeconfig, with its cluster and user."""

    kubeconfig: str  # as given: one path or a $KUBECONFIG list
    context: str
    namespace: str | None
    cluster: ClusterInfo
    user: UserInfo


def files_of(path: str) -> list[str]:
    """The files of a kubeconfig path list (`a:b`), in order, each once."""
    out: list[str] = []
    for part in path.split(os.pathsep):
        if part and part not in out:
            out.append(part)
    return out


def select(path: str, context: str | None) -> Selected:
    """`context` (the current context when None) of the kubeconfig files `path` lists."""
    merged = _Merged.read(files_of(path))
    where = f"kubeconfig {path}"
    if not merged.contexts:
        empty = "is empty" if not merged.documents else "has no contexts"
        raise ConfigError(f"{where} {empty} (pass --kubeconfig or set KUBECONFIG)")
    name = context or merged.current
    known = ", ".join(sorted(merged.contexts))
    if not name:
        raise ConfigError(f"{where}: no current-context; pass --context (its contexts: {known})")
    entry = merged.contexts.get(name)
    if entry is None:
        how = "context" if context else "current-context"
        raise ConfigError(f"{where}: {how} {name!r} is unknown; its contexts: {known}")
    cluster_name = entry.string("cluster")
    if not cluster_name:
        raise ConfigError(f"context {name!r} names no cluster", where=entry.where("cluster"))
    cluster_entry = merged.clusters.get(cluster_name)
    if cluster_entry is None:
        raise ConfigError(
            f"context {name!r}: cluster {cluster_name!r} is not defined"
            f" (clusters: {', '.join(sorted(merged.clusters)) or 'none'})", where=entry.where("cluster"),
        )
    user_name = entry.string("user")
    if user_name:
        user_entry = merged.users.get(user_name)
        if user_entry is None:
            raise ConfigError(
                f"context {name!r}: user {user_name!r} is not defined"
                f" (users: {', '.join(sorted(merged.users)) or 'none'})", where=entry.where("user"),
            )
        user = _user(user_entry, name)
    else:  # no user: anonymous, as kubectl
        user = UserInfo(name="", token=None, token_file=None, cert_file=None, cert_data=None,
                        key_file=None, key_data=None, username=None, password=None, exec=None,
                        wheres={"": entry.where()})
    return Selected(kubeconfig=path, context=name, namespace=entry.string("namespace") or None,
                    cluster=_cluster(cluster_entry, name), user=user)


# ---------------------------------------------------------------- reading and merging


@dataclass(frozen=True)
class _Entry:
    """One named cluster, user or context: its body and where it stands."""

    name: str
    body: Mapping[str, Any]
    doc: Document
    path: PathKey  # of the body: ("users", 2, "user")

    def where(self, *key: str) -> str:
        line = self.doc.line_of((*self.path, *key))
        return f"{self.doc.source}:{line}" if line else self.doc.source

    def field(self, key: str) -> str:
        return format_path((*self.path, key))

    def string(self, key: str) -> str | None:
        value = self.body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{self.field(key)}: must be a string", where=self.where(key))
        return str(value)

    def flag(self, key: str) -> bool:
        value = self.body.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise ConfigError(f"{self.field(key)}: must be true or false", where=self.where(key))
        return value

    def data(self, key: str) -> bytes | None:
        """A `*-data` field: base64, decoded."""
        text = self.string(key)
        if not text:
            return None
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{self.field(key)}: not valid base64", where=self.where(key)) from None

    def path_of(self, key: str) -> str | None:
        """A file path field, resolved against the directory of the file that holds it."""
        text = self.string(key)
        return _resolve(text, self.doc.source) if text else None


def _resolve(value: str, source: str) -> str:
    value = os.path.expanduser(value)
    if os.path.isabs(value):
        return value
    return os.path.join(os.path.dirname(os.path.abspath(os.path.expanduser(source))), value)


@dataclass
class _Merged:
    documents: list[Document] = field(default_factory=list)
    clusters: dict[str, _Entry] = field(default_factory=dict)
    users: dict[str, _Entry] = field(default_factory=dict)
    contexts: dict[str, _Entry] = field(default_factory=dict)
    current: str | None = None

    @classmethod
    def read(cls, files: list[str]) -> _Merged:
        merged = cls()
        for file in files:
            doc = _load(file)
            if doc is None:
                continue
            merged.documents.append(doc)
            tables = (("clusters", "cluster", merged.clusters), ("users", "user", merged.users),
                      ("contexts", "context", merged.contexts))
            for key, item, table in tables:
                for entry in _entries(doc, key, item):
                    table.setdefault(entry.name, entry)  # the first file that names it wins
            current = doc.data.get("current-context")
            if current is not None and not isinstance(current, str):
                raise ConfigError("current-context: must be a string",
                                  where=f"{file}:{doc.line_of(('current-context',)) or 1}")
            if current and not merged.current:
                merged.current = current
        return merged


def _load(file: str) -> Document | None:
    """The file's document; None when it does not exist (kubectl skips those too). Size limit,
    UTF-8, alias bombs, nesting and duplicate keys are checked by `yamlio`."""
    path = os.path.expanduser(file)
    if not os.path.exists(path):
        return None
    from pathlib import Path

    try:
        docs = load_all(read_text(Path(path), what="kubeconfig"), source=file)
    except InputError as exc:
        message = exc.message if exc.message.startswith("kubeconfig") else f"kubeconfig: {exc.message}"
        raise ConfigError(message, where=exc.where or file) from None
    if not docs:
        return None
    if not isinstance(docs[0].data, dict):
        raise ConfigError("kubeconfig: must be a mapping (apiVersion, clusters, contexts, users)",
                          where=f"{file}:1")
    return docs[0]


def _entries(doc: Document, key: str, item: str) -> list[_Entry]:
    """The named entries of one list (`clusters`, `users`, `contexts`) of one file."""
    items = doc.data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(f"{key}: must be a list of {{name, {item}}}",
                          where=f"{doc.source}:{doc.line_of((key,)) or 1}")
    out: list[_Entry] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        where = f"{doc.source}:{doc.line_of((key, i)) or 1}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{key}[{i}]: must be a mapping with name and {item}", where=where)
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{key}[{i}]: has no name", where=where)
        if name in seen:
            raise ConfigError(f"{key}[{i}]: {item} {name!r} is defined twice (also at line {seen[name]})",
                              where=where)
        seen[name] = doc.line_of((key, i)) or 1
        body = raw.get(item)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ConfigError(f"{key}[{i}].{item}: must be a mapping",
                              where=f"{doc.source}:{doc.line_of((key, i, item)) or 1}")
        out.append(_Entry(name, body, doc, (key, i, item)))
    return out


# ---------------------------------------------------------------- clusters and users


def _cluster(entry: _Entry, context: str) -> ClusterInfo:
    server = (entry.string("server") or "").strip()
    if not server:
        raise ConfigError(f"context {context!r}: cluster {entry.name!r} has no server", where=entry.where())
    ca_data = entry.data("certificate-authority-data")
    ca_file = None if ca_data else entry.path_of("certificate-authority")
    return ClusterInfo(
        name=entry.name, server=server, ca_file=ca_file, ca_data=ca_data,
        insecure=entry.flag("insecure-skip-tls-verify"),
        tls_server_name=entry.string("tls-server-name") or None,
        proxy_url=entry.string("proxy-url") or None,
        exec_config=_exec_extension(entry),
        wheres={"": entry.where(), **{k: entry.where(k) for k in entry.body}},
    )


def _exec_extension(entry: _Entry) -> Any:
    extensions = entry.body.get("extensions") or []
    for extension in extensions if isinstance(extensions, list) else []:
        if isinstance(extension, dict) and extension.get("name") == EXEC_EXTENSION:
            return extension.get("extension")
    return None


def _user(entry: _Entry, context: str) -> UserInfo:
    provider = entry.body.get("auth-provider")
    if provider:
        name = str(provider.get("name") or "?") if isinstance(provider, dict) else "?"
        hint = _PROVIDER_HINTS.get(name, "the provider's exec credential plugin")
        raise ConfigError(
            f"context {context!r}: user {entry.name!r}: auth-provider {name!r} is not supported;"
            f" use an exec credential plugin instead ({hint})", where=entry.where("auth-provider"),
        )
    token, token_file = entry.string("token") or None, entry.path_of("tokenFile")
    username, password = entry.string("username") or None, entry.string("password") or None
    if (token or token_file) and (username or password):
        raise ConfigError(
            f"context {context!r}: user {entry.name!r} has both a token and a username/password"
            " (kubectl refuses this too); keep one", where=entry.where(),
        )
    cert_data, key_data = entry.data("client-certificate-data"), entry.data("client-key-data")
    cert_file = None if cert_data else entry.path_of("client-certificate")
    key_file = None if key_data else entry.path_of("client-key")
    if bool(cert_data or cert_file) != bool(key_data or key_file):
        has, lacks = ("client-certificate", "client-key") if cert_data or cert_file else (
            "client-key", "client-certificate")
        raise ConfigError(f"context {context!r}: user {entry.name!r} has a {has} but no {lacks}",
                          where=entry.where())
    raw_exec = entry.body.get("exec")
    return UserInfo(
        name=entry.name, token=token, token_file=token_file, cert_file=cert_file, cert_data=cert_data,
        key_file=key_file, key_data=key_data, username=username, password=password,
        exec=_exec(entry, raw_exec) if raw_exec is not None else None,
        wheres={"": entry.where(), **{k: entry.where(k) for k in entry.body}},
    )


def _exec(user: _Entry, raw: Any) -> ExecPlugin:
    where = user.where("exec")
    if not isinstance(raw, dict):
        raise ConfigError(f"{user.field('exec')}: must be a mapping", where=where)
    spec = _Entry(user.name, raw, user.doc, (*user.path, "exec"))
    api_version = spec.string("apiVersion") or ""
    if api_version not in EXEC_API_VERSIONS:
        found = f"{api_version!r} is not supported" if api_version else "is missing"
        raise ConfigError(f"{spec.field('apiVersion')}: {found}; use {' or '.join(EXEC_API_VERSIONS)}",
                          where=spec.where("apiVersion"))
    command = spec.string("command")
    if not command:
        raise ConfigError(f"{spec.field('command')}: is missing", where=where)
    if os.sep in command:  # a bare name is looked up on PATH, as kubectl does
        command = _resolve(command, user.doc.source)
    mode = spec.string("interactiveMode")
    if mode is None and api_version.endswith("/v1"):
        raise ConfigError(f"{spec.field('interactiveMode')}: is required by {api_version}"
                          f" (one of {', '.join(INTERACTIVE_MODES)})", where=where)
    mode = mode or "IfAvailable"
    if mode not in INTERACTIVE_MODES:
        raise ConfigError(f"{spec.field('interactiveMode')}: {mode!r} is not one of"
                          f" {', '.join(INTERACTIVE_MODES)}", where=spec.where("interactiveMode"))
    args = raw.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
        raise ConfigError(f"{spec.field('args')}: must be a list of strings", where=spec.where("args"))
    items = raw.get("env") or []
    if not isinstance(items, list):
        raise ConfigError(f"{spec.field('env')}: must be a list of {{name, value}}", where=spec.where("env"))
    env: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ConfigError(f"{spec.field('env')}[{i}]: must be a mapping with name and value",
                              where=spec.where("env"))
        env.append((item["name"], str(item.get("value") if item.get("value") is not None else "")))
    return ExecPlugin(
        api_version=api_version, command=command, args=tuple(str(a) for a in args), env=tuple(env),
        interactive_mode=mode, provide_cluster_info=spec.flag("provideClusterInfo"),
        install_hint=" ".join((spec.string("installHint") or "").split())[:300], where=where,
    )
