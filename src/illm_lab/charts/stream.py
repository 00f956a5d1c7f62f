"""Parsing `helm template` output into Kubernetes objects.

helm writes one document per template, each after a `---` line and a `# Source: <chart>/<path>`
comment. We split on those lines ourselves so an error can name the template that produced the
bad document, not just a line number in a stream of thousands. Everything is parsed by
`yamlio` (the one YAML reader) with a larger size limit: this is output we asked helm for, and the
CRDs of a big chart run to megabytes.
"""

from __future__ import annotations

from typing import Any

from illm_lab.base.errors import TemplateError
from illm_lab.base.yamlio import load_all

MAX_OUTPUT_BYTES = 64 * 1024 * 1024
_SOURCE = "# Source: "


def split(output: str) -> list[tuple[str, str]]:
    """(template source, text) per document of helm's output."""
    chunks: list[tuple[str, list[str]]] = [("", [])]
    for line in output.splitlines():
        if line.rstrip() == "---" or line.startswith("--- "):
            chunks.append(("", []))
            continue
        source, lines = chunks[-1]
        if not source and not lines and line.startswith(_SOURCE):
            chunks[-1] = (line[len(_SOURCE):].strip(), lines)
            continue
        lines.append(line)
    return [(src, "\n".join(lines) + "\n") for src, lines in chunks if any(x.strip() for x in lines)]


def parse(output: str, *, chart: str) -> list[dict[str, Any]]:
    """The objects helm rendered for `chart`, in helm's order; `List` kinds are expanded.

    A document that is not YAML or not a Kubernetes object raises a TemplateError naming the
    chart and the template it came from.
    """
    if len(output.encode("utf-8", "surrogatepass")) > MAX_OUTPUT_BYTES:
        raise TemplateError(f"chart {chart}: helm output is over {MAX_OUTPUT_BYTES} bytes")
    objects: list[dict[str, Any]] = []
    for source, text in split(output):
        where = f"chart {chart}: {source or 'helm output'}"
        for doc in load_all(text, source=where, max_bytes=MAX_OUTPUT_BYTES):
            data = doc.data
            items = (data["items"] if isinstance(data, dict) and data.get("kind") == "List"
                     and isinstance(data.get("items"), list) else [data])
            for obj in items:
                _require_object(obj, where)
                objects.append(obj)
    return objects


def _require_object(obj: Any, where: str) -> None:
    if not isinstance(obj, dict):
        raise TemplateError(
            "rendered a document that is not a Kubernetes object "
            f"(a {type(obj).__name__}, not a mapping)", where=where)
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise TemplateError(f"rendered an object without {key}", where=where)
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise TemplateError(f"rendered a {obj['kind']} without metadata.name", where=where)
