"""Which cluster each role of an experiment runs on: an existing kubeconfig context, or a cluster
lab creates through a provider (adrs/0005-talos-default-with-kind-fallback.md).

Precedence, highest first (the first rule that says something wins):

1. the role's own flag (`--target-context`, `--hub-context`, ...)  -> that context (existing)
2. `--context`                                                      -> that context (existing)
3. `--provider` (`lab hub bootstrap`)                               -> that provider
4. `--kubeconfig` given on the command line                         -> its context (existing)
5. `LAB_<ROLE>_PROVIDER`, then `LAB_PROVIDER`                        -> that provider
6. the lab config: `contexts.<role>`, `providers.<role>`, `context`, `provider`, in this order
7. the manifest: `clusters.<role>.context` (existing), else `clusters.<role>.provider`
8. nothing said (`provider: default`): a cluster lab already created for this role (found in the
   state dir), else the provider `default`, which `clusters.resolve_default` turns into a local
   Talos cluster, kind when talosctl is absent, or the kubeconfig's current context when Docker
   is not available.

An existing context is looked up in `--kubeconfig` > the lab config's `kubeconfig:` > `$KUBECONFIG`
> `~/.kube/config` (resolved by `kube.config`); a provider's cluster is reached through the
kubeconfig lab wrote for it under the state dir. Clusters lab creates are named
`<instance>-<role>` (the instance is the experiment's name unless `--instance` is given), so two
experiments never share one. Nothing here reads a kubeconfig, so this stays importable without
`kubernetes`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from illm_lab.base.paths import cluster_dir
from illm_lab.config import labconfig
from illm_lab.model.experiment import Experiment
from illm_lab.model.labconfig import LabConfig

EXISTING = "existing"
DEFAULT = "default"
MAX_NAME = 40  # node containers are `<name>-control-plane`; hostnames stop at 63


@dataclass(frozen=True)
class Target:
    role: str
    kubeconfig: Path | None
    context: str | None
    source: str  # which rule chose the cluster, for messages
    provider: str = EXISTING  # existing | talos | talos-metal | kind | default (resolved later)
    name: str | None = None  # the cluster lab creates (or created) for this role
    size: str = "small"

    @property
    def creates(self) -> bool:
        """True when lab provides this cluster (and so may create and later delete it)."""
        return self.provider != EXISTING

    def attached(self, kubeconfig: Path, context: str | None) -> Target:
        """This target once its cluster exists: reached through the kubeconfig lab wrote."""
        return replace(self, kubeconfig=kubeconfig, context=context)


def cluster_name(instance: str, role: str) -> str:
    """`<instance>-<role>`, shortened with a hash suffix when too long for node host names."""
    name = f"{instance}-{role}"
    if len(name) <= MAX_NAME:
        return name
    suffix = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: MAX_NAME - 7].rstrip('-.')}-{suffix}"


def lab_config() -> dict[str, Any]:
    """The lab config file as a mapping ({} when it does not exist); validated."""
    return labconfig.load().config.model_dump(exclude_defaults=True)


def select(
    experiment: Experiment,
    roles: list[str],
    *,
    kubeconfig: Path | None = None,
    context: str | None = None,
    role_contexts: Mapping[str, str | None] | None = None,
    config: Mapping[str, Any] | LabConfig | None = None,
    provider: str | None = None,
    instance: str | None = None,
    cluster_names: Mapping[str, str] | None = None,
) -> dict[str, Target]:
    """The Target of every role in `roles` (see the module docstring for the precedence)."""
    if config is None:
        cfg = labconfig.load().config
    elif isinstance(config, LabConfig):
        cfg = config
    else:
        cfg = labconfig.validate(config)
    path = kubeconfig or (Path(cfg.kubeconfig).expanduser() if cfg.kubeconfig else None)
    owner = instance or experiment.metadata.name
    out: dict[str, Target] = {}
    for role in roles:
        spec = experiment.spec.clusters.get(role)  # type: ignore[call-overload]
        flag = (role_contexts or {}).get(role)
        env = labconfig.env_provider(role)
        # (context, provider, source): the first rule with an answer wins
        rules: list[tuple[str | None, str | None, str]] = [
            (flag, EXISTING if flag else None, f"--{role}-context"),
            (context, EXISTING if context else None, "--context"),
            (None, provider, "--provider"),
            (None, EXISTING if kubeconfig else None, "--kubeconfig"),
            (None, env[0] if env else None, env[1] if env else ""),
            (cfg.contexts.get(role), EXISTING if role in cfg.contexts else None,  # type: ignore[call-overload]
             f"lab config contexts.{role}"),
            (None, cfg.providers.get(role), f"lab config providers.{role}"),  # type: ignore[call-overload]
            (cfg.context, EXISTING if cfg.context else None, "lab config context"),
            (None, cfg.provider, "lab config provider"),
            (spec.context if spec else None, EXISTING if spec and spec.context else None,
             f"manifest clusters.{role}.context"),
            (None, spec.provider if spec and spec.provider != DEFAULT else None,
             f"manifest clusters.{role}.provider"),
        ]
        chosen_ctx, chosen_provider, source = next(
            ((c, p, s) for c, p, s in rules if p), (None, DEFAULT, "default provider")
        )
        if chosen_provider == EXISTING and chosen_ctx is None:
            # an existing cluster without a context named by the rule: the usual context lookup
            chosen_ctx = next((c for c in (flag, context, cfg.contexts.get(role),  # type: ignore[call-overload]
                                           cfg.context, spec.context if spec else None) if c), None)
            if chosen_ctx is None and source != "--kubeconfig":
                source = f"{source} (current context)"
        name = (cluster_names or {}).get(role) or cluster_name(owner, role)
        size = spec.size if spec else "small"
        if chosen_provider == EXISTING:
            out[role] = Target(role, path, chosen_ctx, source, EXISTING, None, size)
            continue
        written = cluster_dir(name) / "kubeconfig"
        if chosen_provider == DEFAULT and written.is_file():
            source = f"cluster {name} that lab created"
        out[role] = Target(role, written if written.is_file() else None, None, source,
                           chosen_provider, name, size)
    return out
