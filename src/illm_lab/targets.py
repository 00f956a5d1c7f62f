"""Which kubeconfig and context each cluster role of an experiment uses.

Precedence, highest first: the role's own flag (`--target-context`, ...) > `--context` > the lab
config file (`contexts: {<role>: ...}`, then `context:`) > the manifest's `clusters.<role>.context`
> the kubeconfig's current context. The kubeconfig is `--kubeconfig` > the lab config's
`kubeconfig:` > `$KUBECONFIG` > `~/.kube/config` (resolved by `kube.config`). Nothing here reads
the kubeconfig itself, so this stays importable without `kubernetes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from illm_lab.errors import ConfigError
from illm_lab.model.experiment import Experiment
from illm_lab.paths import config_file
from illm_lab.yamlio import load_file


@dataclass(frozen=True)
class Target:
    role: str
    kubeconfig: Path | None
    context: str | None
    source: str  # which rule chose the context, for messages


def lab_config() -> dict[str, Any]:
    """The lab config file as a mapping ({} when it does not exist)."""
    path = config_file()
    if not path.is_file():
        return {}
    doc = load_file(path, what="lab config")
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        raise ConfigError("the lab config must be a mapping", where=f"{path}:1")
    contexts = doc.data.get("contexts")
    if contexts is not None and not isinstance(contexts, dict):
        line = doc.line_of(("contexts",)) or 1
        raise ConfigError("contexts: must map cluster roles to context names", where=f"{path}:{line}")
    return dict(doc.data)


def select(
    experiment: Experiment,
    roles: list[str],
    *,
    kubeconfig: Path | None = None,
    context: str | None = None,
    role_contexts: Mapping[str, str | None] | None = None,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Target]:
    cfg = lab_config() if config is None else dict(config)
    cfg_kubeconfig = cfg.get("kubeconfig")
    path = kubeconfig or (Path(str(cfg_kubeconfig)).expanduser() if cfg_kubeconfig else None)
    cfg_contexts = cfg.get("contexts") or {}
    out: dict[str, Target] = {}
    for role in roles:
        flag = (role_contexts or {}).get(role)
        spec = experiment.spec.clusters.get(role)  # type: ignore[call-overload]
        choices: list[tuple[str | None, str]] = [
            (flag, f"--{role}-context"),
            (context, "--context"),
            (cfg_contexts.get(role), f"lab config contexts.{role}"),
            (cfg.get("context"), "lab config context"),
            (spec.context if spec is not None else None, f"manifest clusters.{role}.context"),
        ]
        chosen, source = next(((c, s) for c, s in choices if c), (None, "kubeconfig current context"))
        out[role] = Target(role=role, kubeconfig=path, context=str(chosen) if chosen else None,
                           source=source)
    return out
