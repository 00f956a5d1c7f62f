"""`lab new`: a new experiment folder copied from `experiments/_template`.

The template holds the placeholders `__NAME__`, `__TITLE__`, `__PHASE__`, `__TYPE__` and
`__RUN__` in its manifest and guide; Jinja2 templates are copied untouched (they are rendered at
conduct time). A tutorial also gets the template's `tutorial/` folder: `spec.yaml` (a
`spec.tutorial` with two checkpoints, one with a solution) is appended to the manifest, so `lab
tutorial show|start` work on the new experiment at once; other types get no `tutorial/` folder.
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
SPEC_FRAGMENT = "spec.yaml"  # in the template's tutorial/ folder


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
    tutorial = target / "tutorial"
    run = f"lab lint {name}\nlab conduct {name}"
    if type_ == "tutorial":
        start = f"lab tutorial start {name}"
        run = (f"lab lint {name}\n{f'lab conduct {name}':<{len(start)}}  # CI: each solution applied, "
               f"then checked\n{start}  # the guided session, checkpoint by checkpoint")
    replacements = {
        "__NAME__": name,
        "__TITLE__": title or name.replace("-", " ").capitalize(),
        "__PHASE__": phase,
        "__TYPE__": type_,
        "__RUN__": run,
    }
    manifest = target / "experiment.yaml"
    fragment = tutorial / SPEC_FRAGMENT
    if type_ == "tutorial" and fragment.is_file():
        text = read_text(manifest, what="template file").rstrip("\n") + "\n"
        manifest.write_text(text + read_text(fragment, what="template file"), encoding="utf-8")
        fragment.unlink()
    elif tutorial.is_dir():
        shutil.rmtree(tutorial)
    for path in (manifest, target / "README.md"):
        if path.is_file():
            text = read_text(path, what="template file")
            for key, value in replacements.items():
                text = text.replace(key, value)
            path.write_text(text, encoding="utf-8")
    return target
