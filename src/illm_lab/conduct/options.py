"""What a user can ask of one conduct (flags of `lab conduct`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConductOptions:
    keep: bool = False
    keep_on_failure: bool = False
    dry_run: bool = False
    reuse: bool = False
    record: bool = False
    force_conflicts: bool = False
    instance: str | None = None
    interactive: bool = False
    teardown_timeout: float = 300.0
    check_timeout: float | None = None
    allow_commands: bool = False  # --allow-commands (config/trust.py)
