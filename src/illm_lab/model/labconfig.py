"""The lab config file (`~/.config/illm-lab/config.yaml`, `--config`, `LAB_CONFIG`): which cluster
each role runs on when the command line does not say, and the settings of each provider.

Data only, like the manifest models: loading, env overrides and file:line errors live in
`illm_lab.labconfig`. Unknown keys are errors, so a typo never silently falls back to a default.

    kubeconfig: ~/.kube/config          # where `contexts` are looked up (default: $KUBECONFIG)
    context: my-cluster                 # every role on this existing context ...
    contexts: {hub: home-lab}           # ... or per role (wins over `context`)
    provider: kind                      # default provider of every role ...
    providers: {hub: talos-metal}       # ... or per role
    talos: {kubernetesVersion: 1.31.4, subnetPool: 10.5.0.0/16}
    kind: {nodeImage: kindest/node:v1.31.4}
    talosMetal:
      clusters:
        hub: {controlPlanes: [192.168.1.10], workers: [192.168.1.11], installDisk: /dev/nvme0n1}
    allowCommands: true                 # command checks may run local programs (--allow-commands)
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator

from illm_lab.model.base import Duration, Strict
from illm_lab.model.checks import Role
from illm_lab.model.experiment import Provider

_HOST = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$")


def _version(value: str | None) -> str | None:
    if value is not None and not re.match(r"^v?\d+\.\d+\.\d+$", value):
        raise ValueError(f"{value!r:.40} is not a version such as 1.31.4")
    return value


class TalosSettings(Strict):
    """Local Talos clusters in Docker (`talosctl cluster create`)."""

    kubernetes_version: str | None = Field(None, description="default: talosctl's own default")
    image: str | None = Field(None, description="Talos node image (default: talosctl's)")
    subnet_pool: str = Field("10.5.0.0/16", description="each cluster gets its own /24 from it")
    wait_timeout: Duration = 1200.0
    config_patches: list[str] = Field(
        default_factory=list, description="files passed as --config-patch @FILE"
    )

    @field_validator("kubernetes_version")
    @classmethod
    def _kubernetes_version(cls, value: str | None) -> str | None:
        return _version(value)

    @field_validator("subnet_pool")
    @classmethod
    def _pool(cls, value: str) -> str:
        net = ipaddress.ip_network(value, strict=True)  # ValueError names the problem
        if net.version != 4 or net.prefixlen > 24:
            raise ValueError("subnetPool must be an IPv4 network of /24 or larger")
        return value


class KindSettings(Strict):
    node_image: str | None = Field(None, description="kindest/node image (default: kind's)")
    wait: Duration = 120.0


class MetalNodes(Strict):
    """Existing Talos nodes (booted from the ISO, in maintenance mode or already configured)."""

    control_planes: list[str] = Field(min_length=1, description="node IPs or host names")
    workers: list[str] = Field(default_factory=list)
    endpoint: str | None = Field(None, description="Kubernetes API host (default: first control plane)")
    install_disk: str = "/dev/sda"
    kubernetes_version: str | None = None
    config_patches: list[str] = Field(default_factory=list)

    @field_validator("kubernetes_version")
    @classmethod
    def _kubernetes_version(cls, value: str | None) -> str | None:
        return _version(value)

    @field_validator("control_planes", "workers")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _HOST.match(host):
                raise ValueError(f"{host!r:.60} is not an IP address or host name")
        return value


class TalosMetalSettings(Strict):
    clusters: dict[Role, MetalNodes] = Field(default_factory=dict)
    reset_on_delete: bool = Field(
        False,
        description="let `lab down`/`lab hub destroy` wipe the nodes (talosctl reset); "
        "otherwise lab leaves them running and keeps their credentials",
    )
    wait_timeout: Duration = 1200.0


class LabConfig(Strict):
    kubeconfig: str | None = None
    context: str | None = None
    contexts: dict[Role, str] = Field(default_factory=dict)
    provider: Provider | None = None
    providers: dict[Role, Provider] = Field(default_factory=dict)
    talos: TalosSettings = Field(default_factory=TalosSettings)
    kind: KindSettings = Field(default_factory=KindSettings)
    talos_metal: TalosMetalSettings = Field(default_factory=TalosMetalSettings)
    allow_commands: bool = Field(
        False, description="let `command` checks run local programs without --allow-commands"
    )
