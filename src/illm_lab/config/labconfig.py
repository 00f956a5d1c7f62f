"""Loading the lab config file and its environment overrides.

The file is `--config FILE` > `$LAB_CONFIG` > `<XDG config dir>/illm-lab/config.yaml`; a missing
file is an empty config. It is validated by `model.labconfig.LabConfig` and every problem is
reported as `file:line: field.path: message` (exit 2), like a manifest.

Environment overrides win over the file and lose to the command line: `LAB_<ROLE>_PROVIDER`
(`LAB_HUB_PROVIDER`, `LAB_TARGET_PROVIDER`, `LAB_LOADGEN_PROVIDER`), then `LAB_PROVIDER` for every
role. They exist for CI jobs, which would rather set a variable than write a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from illm_lab.base.errors import ConfigError
from illm_lab.base.paths import config_file
from illm_lab.base.yamlio import Document, load_file
from illm_lab.catalog import validation_problems
from illm_lab.model.experiment import Provider
from illm_lab.model.labconfig import LabConfig

PROVIDERS: tuple[str, ...] = get_args(Provider)
ENV_PROVIDER = "LAB_PROVIDER"


@dataclass(frozen=True)
class Loaded:
    config: LabConfig
    path: Path | None  # the file it came from (None: no file, or built from a mapping)

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "the lab config"


def load(path: Path | None = None) -> Loaded:
    """The lab config (an empty one when the file does not exist)."""
    path = path or config_file()
    if str(path) == os.devnull or not path.exists():  # anything else there must be a regular file
        return Loaded(LabConfig(), None)
    doc = load_file(path, what="lab config")
    if doc.data is None:
        return Loaded(LabConfig(), path)
    return Loaded(validate(doc.data, doc=doc, path=path), path)


def validate(data: Any, *, doc: Document | None = None, path: Path | None = None) -> LabConfig:
    """`data` as a LabConfig, or ConfigError naming the first problem with its file and line."""
    where = str(path) if path else "lab config"
    if not isinstance(data, Mapping):
        raise ConfigError("the lab config must be a mapping", where=f"{where}:1" if path else where)
    try:
        return LabConfig.model_validate(dict(data))
    except ValidationError as exc:
        problems = validation_problems(exc, doc or Document(data), Path(where))
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ConfigError(first.message + more, where=first.where) from None


def env_provider(role: str) -> tuple[str, str] | None:
    """(provider, variable name) from `LAB_<ROLE>_PROVIDER` or `LAB_PROVIDER`, if set."""
    for name in (f"LAB_{role.upper()}_PROVIDER", ENV_PROVIDER):
        value = os.environ.get(name, "").strip()
        if value:
            if value not in PROVIDERS:
                raise ConfigError(f"{name}={value[:40]!r}: must be one of {', '.join(PROVIDERS)}")
            return value, name
    return None
