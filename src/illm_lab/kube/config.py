"""Reading a kubeconfig into a client configuration, without ever writing it back.

The official loader writes refreshed credentials back into the user's kubeconfig unless told not
to (`persist_config`); we never pass a persister, so the user's file is read only. The path is
resolved at call time (`--kubeconfig` > `$KUBECONFIG` > `~/.kube/config`) rather than when
`kubernetes` is imported, so a changed environment (tests, `lab` run from a script) is honoured.
A kubeconfig that cannot be read or makes no sense is bad input (`ConfigError`, exit 2); what
the error says names the file and the context, never a token, key or password.

A kubeconfig `exec` credential plugin is run by the official client with no time limit (it waits
on the process for ever) and any failure it meets is only logged. The client offers no hook, so
its provider class is replaced by one that stops the plugin after `EXEC_DEADLINE` seconds and
raises `ExecPluginTimeout`, which the loader cannot swallow; `load` (and the transport, for a
token refresh) turns it into a `ClusterError` naming the plugin command (exit 3).
"""

from __future__ import annotations

import binascii
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from illm_lab.base.errors import ClusterError, ConfigError
from illm_lab.kube.client import ConfigException, Configuration, KubeConfigLoader, KubeConfigMerger

EXEC_DEADLINE = 30.0  # seconds a kubeconfig exec credential plugin may take

_kube_config = sys.modules[KubeConfigLoader.__module__]
_ExecProvider: Any = _kube_config.ExecProvider


class ExecPluginTimeout(BaseException):
    """A credential plugin that did not return in time. A BaseException so the kubernetes
    loader's `except Exception` (which only logs) cannot swallow it."""

    def __init__(self, command: str, seconds: float) -> None:
        super().__init__(command)
        self.command = command
        self.seconds = seconds

    def error(self, where: str) -> ClusterError:
        return ClusterError(
            f"{where}: exec credential plugin {self.command!r} did not return within "
            f"{self.seconds:g} s (stopped)"
        )


class _BoundedExecProvider(_ExecProvider):  # type: ignore[misc]
    """The client's exec provider, with a deadline on the plugin process."""

    deadline = EXEC_DEADLINE

    def run(self, previous_response: Any = None) -> Any:
        info: dict[str, Any] = {"apiVersion": self.api_version, "kind": "ExecCredential",
                                "spec": {"interactive": False}}
        if previous_response:
            info["spec"]["response"] = previous_response
        if self.cluster:
            info["spec"]["cluster"] = self.cluster.value
            for extension in self.cluster.value.get("extensions") or []:
                if extension["name"] == "client.authentication.k8s.io/exec":
                    info["spec"]["cluster"]["config"] = extension["extension"]
                    break
        self.env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
        command = " ".join(str(a) for a in self.args)[:200]
        try:
            done = subprocess.run(
                self.args, capture_output=True, stdin=subprocess.DEVNULL, cwd=self.cwd, env=self.env,
                text=True, timeout=self.deadline, check=False, shell=False,  # never through a shell
            )
        except subprocess.TimeoutExpired:
            raise ExecPluginTimeout(command, self.deadline) from None
        if done.returncode != 0:
            msg = f"exec: process returned {done.returncode}"
            if done.stderr.strip():
                msg += f". {done.stderr.strip()}"
            raise ConfigException(msg)
        try:
            data = json.loads(done.stdout)
        except ValueError as exc:
            raise ConfigException(f"exec: failed to decode process output: {exc}") from None
        for key in ("apiVersion", "kind", "status"):
            if key not in data:
                raise ConfigException(f"exec: malformed response. missing key '{key}'")
        if data["apiVersion"] != self.api_version:
            raise ConfigException(
                f"exec: plugin api version {data['apiVersion']} does not match {self.api_version}"
            )
        return data["status"]


_kube_config.ExecProvider = _BoundedExecProvider  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Endpoint:
    """Where a connection goes: safe to print and to record (no credentials)."""

    kubeconfig: str
    context: str
    server: str


def kubeconfig_path(explicit: Path | None) -> str:
    """`explicit` > `$KUBECONFIG` (may list several files) > `~/.kube/config`."""
    if explicit is not None:
        return str(explicit)
    return os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def load(kubeconfig: Path | None, context: str | None) -> tuple[Any, Endpoint]:
    """A fresh client configuration for `context` of `kubeconfig` (its current context if None)."""
    path = kubeconfig_path(kubeconfig)
    files = [p for p in path.split(os.pathsep) if p]
    if not any(os.path.exists(os.path.expanduser(p)) for p in files):
        raise ConfigError(f"kubeconfig {path} not found (pass --kubeconfig or set KUBECONFIG)")
    where = f"kubeconfig {path}"
    for file in files:
        _screen(file)
    try:
        merged = KubeConfigMerger(path)
        if merged.config is None:
            raise ConfigError(f"{where}: no configuration found")
        loader = KubeConfigLoader(
            config_dict=merged.config, active_context=context, config_base_path=None,
            config_persister=None,
        )
        configuration = Configuration()
        loader.load_and_set(configuration)
        name = str(loader.current_context["name"])
    except ConfigError:
        raise
    except ExecPluginTimeout as exc:
        raise exc.error(where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"kubeconfig {path}{line}: not valid YAML") from None
    except ConfigException as exc:
        known = _context_names(merged.config) if "merged" in locals() else []
        if context and known and context not in known:
            raise ConfigError(f"{where}: context {context!r} is unknown; "
                              f"its contexts: {', '.join(known)}") from None
        raise ConfigError(f"{where}: {_clean(str(exc), context)}") from None
    except binascii.Error:
        raise ConfigError(f"{where}: a *-data entry (certificate or key) is not valid base64") from None
    except OSError as exc:  # a file the kubeconfig names (tokenFile, ...) or the path itself
        what = f" {exc.filename}" if exc.filename else ""
        raise ConfigError(f"{where}: cannot read{what}: {exc.strerror or type(exc).__name__}") from None
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
        # The loader assumes a well-formed document; anything else is a malformed kubeconfig.
        raise ConfigError(f"{where}: malformed ({type(exc).__name__})") from None
    server = _without_userinfo(str(configuration.host or ""))
    if not server:
        raise ConfigError(f"{where}: context {name!r} has no cluster server")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: context {name!r}: cluster server {server[:80]!r} is not an http(s) URL")
    return configuration, Endpoint(kubeconfig=path, context=name, server=server)


def _context_names(config: Any) -> list[str]:
    """The context names of a merged kubeconfig (the loader's view of it), [] when unreadable."""
    try:
        value = config.value if hasattr(config, "value") else config
        items = [getattr(c, "value", c) for c in value.get("contexts") or []]
        return sorted(str(c["name"]) for c in items if c.get("name"))
    except (AttributeError, KeyError, TypeError):
        return []


def _screen(file: str) -> None:
    """Refuse, before the kubernetes loader sees it, a kubeconfig that would hurt it: over the
    size limit, not UTF-8, invalid YAML, alias bombs, absurd nesting, duplicate keys (the
    loader recurses without a limit and would crash; kubectl refuses duplicate keys too)."""
    from illm_lab.base.errors import InputError
    from illm_lab.base.yamlio import load_all, read_text

    candidate = Path(os.path.expanduser(file))
    if not candidate.exists():  # a FIFO or a device is refused by read_text, never handed on
        return
    try:
        docs = load_all(read_text(candidate, what="kubeconfig"), source=file)
    except InputError as exc:
        message = exc.message if exc.message.startswith("kubeconfig") else f"kubeconfig: {exc.message}"
        raise ConfigError(message, where=exc.where or file) from None
    if docs and not isinstance(docs[0].data, dict):
        raise ConfigError("kubeconfig: must be a mapping (apiVersion, clusters, contexts, users)",
                          where=f"{file}:1")


def _clean(message: str, context: str | None) -> str:
    """The loader's message, shortened; it names keys and contexts, not their secret values."""
    first = " ".join(message.split())[:200]
    if context and "context" not in first:
        first += f" (context {context!r})"
    return first


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def describe(configuration: Any) -> str:
    """The server URL of a configuration, for messages."""
    return _without_userinfo(str(getattr(configuration, "host", "")))
