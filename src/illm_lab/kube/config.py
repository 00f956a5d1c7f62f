"""Reading a kubeconfig into a client configuration, without ever writing it back.

The official loader writes refreshed credentials back into the user's kubeconfig unless told not
to (`persist_config`); we never pass a persister, so the user's file is read only. The path is
resolved at call time (`--kubeconfig` > `$KUBECONFIG` > `~/.kube/config`) rather than when
`kubernetes` is imported, so a changed environment (tests, `lab` run from a script) is honoured.
A kubeconfig that cannot be read or makes no sense is bad input (`ConfigError`, exit 2); what
the error says names the file and the context, never a token, key or password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from kubernetes import client
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

from illm_lab.errors import ConfigError


@dataclass(frozen=True)
class Target:
    """Where a connection goes: safe to print and to record (no credentials)."""

    kubeconfig: str
    context: str
    server: str


def kubeconfig_path(explicit: Path | None) -> str:
    """`explicit` > `$KUBECONFIG` (may list several files) > `~/.kube/config`."""
    if explicit is not None:
        return str(explicit)
    return os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def load(kubeconfig: Path | None, context: str | None) -> tuple[client.Configuration, Target]:
    """A fresh client configuration for `context` of `kubeconfig` (its current context if None)."""
    path = kubeconfig_path(kubeconfig)
    files = [p for p in path.split(os.pathsep) if p]
    if not any(os.path.exists(os.path.expanduser(p)) for p in files):
        raise ConfigError(f"kubeconfig {path} not found (pass --kubeconfig or set KUBECONFIG)")
    where = f"kubeconfig {path}"
    try:
        merged = KubeConfigMerger(path)  # type: ignore[no-untyped-call]
        if merged.config is None:
            raise ConfigError(f"{where}: no configuration found")
        loader = KubeConfigLoader(  # type: ignore[no-untyped-call]
            config_dict=merged.config, active_context=context, config_base_path=None,
            config_persister=None,
        )
        configuration = client.Configuration()
        loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
        name = str(loader.current_context["name"])
    except ConfigError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"kubeconfig {path}{line}: not valid YAML") from None
    except ConfigException as exc:
        raise ConfigError(f"{where}: {_clean(str(exc), context)}") from None
    except (OSError, KeyError, TypeError, AttributeError, ValueError) as exc:
        # The loader assumes a well-formed document; anything else is a malformed kubeconfig.
        raise ConfigError(f"{where}: malformed ({type(exc).__name__})") from None
    server = _without_userinfo(str(configuration.host or ""))
    if not server:
        raise ConfigError(f"{where}: context {name!r} has no cluster server")
    return configuration, Target(kubeconfig=path, context=name, server=server)


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
