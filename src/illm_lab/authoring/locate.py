"""Where a finding about a key of a rendered object is, in the template it came from.

Only when certain: the template's own line when it rendered to itself (a plain manifest), else
the one template line identical to the rendered line, else the one template line that starts
with the same block key. Otherwise the template and the line of its rendered output.

A template that loops renders thousands of objects from a few lines, so what is learnt about a
template and its output (its lines, whether it rendered to itself, which of its lines hold a
text or start with a key) is learnt once per template, not once per finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illm_lab import catalog
from illm_lab.authoring import openapi
from illm_lab.rendering import render

_BLOCK_KEY = re.compile(r"^ *(?:- )?[A-Za-z0-9_.\-/\"']+:(?= |$)")


@dataclass
class _Template:
    """One template and one rendered output of it."""

    file: Path
    lines: list[str]
    rendered: list[str]
    itself: bool = False  # it rendered to itself
    by_text: dict[str, list[int]] = field(default_factory=dict)
    by_key: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def read(cls, file: Path, rendered: str) -> _Template:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        out = cls(file, lines, rendered.splitlines())
        out.itself = out.lines == out.rendered
        for i, line in enumerate(lines, start=1):
            out.by_text.setdefault(line, []).append(i)
        return out

    def starting_with(self, key: str) -> list[int]:
        if key not in self.by_key:
            self.by_key[key] = [i for i, line in enumerate(self.lines, start=1) if line.startswith(key)]
        return self.by_key[key]

    def line_of(self, rendered_line: int) -> int | None:
        """The template line a line of the output certainly came from, or None."""
        if self.itself:
            return rendered_line
        wanted = self.rendered[rendered_line - 1] if rendered_line <= len(self.rendered) else ""
        same = self.by_text.get(wanted, []) if wanted.strip() else []
        key = _BLOCK_KEY.match(wanted)  # `  replicas: 3` from `  replicas: {{ params.replicas }}`
        if not same and key:
            same = self.starting_with(key.group(0))
        return same[0] if len(same) == 1 else None


def template_lines(entry: catalog.Entry, comps: list[render.RenderedComponent]) -> openapi.WhereOf:
    """`file:line` in the template for a key of a rendered manifest object (see the module)."""
    sources = {id(o): src for c in comps for o, src in zip(c.objects, c.sources, strict=False)}
    templates: dict[tuple[str, str], _Template] = {}

    def where_of(_comp: str, obj: dict[str, Any], path: openapi.KeyPath) -> str | None:
        src = sources.get(id(obj))
        if src is None:
            return None
        rendered_line = next((src.lines[path[:n]] for n in range(len(path), -1, -1)
                              if path[:n] in src.lines), None)
        if rendered_line is None:
            return None
        key = (src.template, src.rendered)  # a str keeps its hash: a long output is hashed once
        if key not in templates:
            templates[key] = _Template.read(entry.folder / src.template, src.rendered)
        template = templates[key]
        line = template.line_of(rendered_line)
        if line is not None:
            return f"{template.file}:{line}"
        return f"{template.file} (line {rendered_line} of its output, `lab render {entry.name}`)"
    return where_of
