"""`lab new`: a new experiment folder copied from `experiments/_template`.

The template holds the placeholders `__NAME__`, `__TITLE__`, `__PHASE__` and `__TYPE__` in its
manifest and guide; Jinja2 templates are copied untouched (they are rendered at conduct time).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from illm_lab.base.errors import UsageError
from illm_lab.base.files import read_text
from illm_lab.model.base import DNS_LABEL
from illm_lab.model.experiment import PHASE_PATTERN

TEMPLATE = "_template"
TYPES = ("tutorial", "comparison", "benchmark", "demo")


def create(root: Path, name: str, *, title: str | None, phase: str, type_: str) -> Path:
    if not re.match(DNS_LABEL, name) or len(name) > 63:
        raise UsageError(f"experiment name {name[:80]!r} must be a DNS label (a-z, 0-9, '-')")
    if not re.match(PHASE_PATTERN, phase):
        raise UsageError(f"--phase {phase[:20]!r}: expected 1..9, a section like 3.1, or A..S")
    if type_ not in TYPES:
        raise UsageError(f"--type {type_[:20]!r}: expected one of {', '.join(TYPES)}")
    template = root / TEMPLATE
    if not template.is_dir():
        raise UsageError(f"no template at {template}")
    target = root / name
    if target.exists():
        raise UsageError(f"{target} already exists")
    shutil.copytree(template, target)
    replacements = {
        "__NAME__": name,
        "__TITLE__": title or name.replace("-", " ").capitalize(),
        "__PHASE__": phase,
        "__TYPE__": type_,
    }
    for path in (target / "experiment.yaml", target / "README.md"):
        if path.is_file():
            text = read_text(path, what="template file")
            for key, value in replacements.items():
                text = text.replace(key, value)
            path.write_text(text, encoding="utf-8")
    return target
