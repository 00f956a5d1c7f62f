"""Cluster sizes, defined once: every provider maps a size name to these numbers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    control_planes: int
    workers: int
    cpus: float
    memory_mib: int


SIZES: dict[str, Size] = {
    "small": Size(control_planes=1, workers=1, cpus=2, memory_mib=2048),
    "medium": Size(control_planes=1, workers=2, cpus=2, memory_mib=4096),
    "large": Size(control_planes=1, workers=3, cpus=4, memory_mib=8192),
}
