"""The command lines lab builds for talosctl (both syntaxes) and kind, and version parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from illm_lab.base.errors import ToolError
from illm_lab.tools import kind, talosctl

FILES = talosctl.Files(talosconfig=Path("/s/c/talosconfig"), kubeconfig=Path("/s/c/kubeconfig"),
                       state=Path("/s/c/state"))
SPEC = talosctl.LocalCluster(name="demo-target", cidr="10.5.1.0/24", workers=2, cpus=2, memory_mib=4096,
                             kubernetes_version="1.31.4", wait_timeout=600)


def test_talosctl_up_to_1_11_uses_the_provisioner_flag() -> None:
    assert talosctl.create_argv((1, 11, 5), SPEC, FILES) == [
        "talosctl", "cluster", "create", "--provisioner", "docker", "--name", "demo-target",
        "--state", "/s/c/state", "--talosconfig", "/s/c/talosconfig", "--cidr", "10.5.1.0/24",
        "--controlplanes", "1", "--workers", "2", "--cpus", "2", "--cpus-workers", "2",
        "--memory", "4096", "--memory-workers", "4096", "--wait", "--wait-timeout", "600s",
        "--skip-kubeconfig", "--kubernetes-version", "1.31.4",
    ]


def test_talosctl_from_1_12_uses_the_docker_subcommand() -> None:
    argv = talosctl.create_argv((1, 12, 0), SPEC, FILES)
    assert argv == [
        "talosctl", "cluster", "create", "docker", "--name", "demo-target", "--state", "/s/c/state",
        "--talosconfig-destination", "/s/c/talosconfig", "--subnet", "10.5.1.0/24", "--workers", "2",
        "--cpus-controlplanes", "2", "--cpus-workers", "2", "--memory-controlplanes", "4096MiB",
        "--memory-workers", "4096MiB", "--kubernetes-version", "1.31.4",
    ]
    assert "--controlplanes" not in argv and "--provisioner" not in argv  # gone in 1.12


def test_talosctl_patches_and_image_and_destroy() -> None:
    spec = talosctl.LocalCluster(name="x", cidr="10.5.2.0/24", workers=0, cpus=1.5, memory_mib=2048,
                                 image="ghcr.io/siderolabs/talos:v1.12.0", config_patches=["/p.yaml"])
    argv = talosctl.create_argv((1, 13, 1), spec, FILES)
    assert argv[-4:] == ["--image", "ghcr.io/siderolabs/talos:v1.12.0", "--config-patch", "@/p.yaml"]
    assert "1.5" in argv
    assert talosctl.destroy_argv("x", FILES) == [
        "talosctl", "cluster", "destroy", "--name", "x", "--state", "/s/c/state", "--force"]


@pytest.mark.parametrize(("text", "version"), [
    ("Client:\n\tTalos v1.11.5\n", (1, 11, 5)),
    ("Talos v1.12.0-alpha.2", (1, 12, 0)),
])
def test_talosctl_version_parsing(text: str, version: tuple[int, int, int]) -> None:
    assert talosctl.parse_version(text) == version


def test_talosctl_version_unreadable_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="cannot read a version"):
        talosctl.parse_version("talosctl: unknown")


def test_kind_create_argv_writes_lab_s_kubeconfig() -> None:
    assert kind.create_argv("demo-target", config=Path("/c/kind.yaml"), kubeconfig=Path("/c/kubeconfig"),
                            wait=120, image="kindest/node:v1.31.4") == [
        "kind", "create", "cluster", "--name", "demo-target", "--config", "/c/kind.yaml",
        "--kubeconfig", "/c/kubeconfig", "--wait", "120s", "--image", "kindest/node:v1.31.4"]
