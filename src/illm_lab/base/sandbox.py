"""The sandboxed Jinja2 environment every template of lab renders in.

Templates are untrusted input (an experiment may come from anyone), so they run in Jinja2's
`ImmutableSandboxedEnvironment` with `StrictUndefined`: no Python internals, no mutation of the
context, no undefined name silently rendering as an empty string. They see only what the caller
passes (params, experiment metadata) — never the process environment — and can include only
files inside their own experiment folder.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from illm_lab.base.yamlio import dump, read_text


class _FolderLoader(jinja2.BaseLoader):
    """Loads templates from one folder only; `..`, absolute paths and symlinks out are refused."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Any]:
        candidate = (self.root / template).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            raise jinja2.TemplateNotFound(f"{template} (inside the experiment folder)")
        text = read_text(candidate, what="template")
        mtime = candidate.stat().st_mtime
        return text, str(candidate), lambda: candidate.stat().st_mtime == mtime


def _b64encode(value: Any) -> str:
    return base64.b64encode(str(value).encode()).decode()


def _to_yaml(value: Any) -> str:
    return dump(value).rstrip("\n")


# What YAML does not take as itself in a quoted scalar: non-printable (DEL, C1 controls, U+FFFE/F,
# surrogates) or a line break that would be folded (NEL, U+2028, U+2029).
_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]")


def _json(value: Any, **options: Any) -> str:
    """JSON that is valid YAML too, for `quote` and `tojson`: a character beyond U+FFFF is
    written as itself (JSON's surrogate-pair escape "\\ud83c\\udf89" is refused by YAML), and the
    few characters YAML would refuse or fold are escaped (JSON leaves them raw)."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def make_environment(folder: Path | None = None) -> ImmutableSandboxedEnvironment:
    """The sandbox; with `folder`, templates may include files from inside it (and only it)."""
    env = ImmutableSandboxedEnvironment(
        loader=_FolderLoader(folder) if folder is not None else None,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["b64encode"] = _b64encode
    env.filters["toyaml"] = _to_yaml
    env.filters["tojson"] = lambda v: _json(v, sort_keys=True)
    env.filters["quote"] = lambda v: _json(str(v))
    return env
