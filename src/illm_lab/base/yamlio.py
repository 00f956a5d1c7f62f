"""The only module that reads YAML.

Loading is done in two steps, compose then construct, so that before any Python object exists we
can (a) refuse what would hurt — files over the size limit, non-UTF-8 bytes, duplicate keys,
alias bombs, absurd nesting — and (b) remember the line of every mapping key and list item, so
errors found later by pydantic can say `experiments/x/experiment.yaml:12: spec.checks[0]: ...`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from illm_lab.base.errors import InputError
from illm_lab.base.files import MAX_BYTES, read_text

__all__ = ["MAX_BYTES", "Document", "PathKey", "dump", "dump_all", "format_path", "load_all",
           "load_file", "load_scalar", "read_text"]

MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_NODES = 200_000
MAX_INT_CHARS = 128  # an int64 has 20 digits (66 characters in binary); Python stops at 4,300
_INT_TAG = "tag:yaml.org,2002:int"

try:  # the C parser is ~10x faster and keeps node marks
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader, resolving plain scalars the way Kubernetes does.

    kubectl, helm and the API server read YAML with go-yaml v2 (through sigs.k8s.io/yaml), whose
    YAML 1.1 resolution differs from PyYAML's in ways real charts hit: a bare `=` is a string
    there (PyYAML tags it `value` and cannot construct it — kube-prometheus-stack's CRDs have it
    in an enum), dates and times stay strings, `1:20` is a string rather than a base-60 integer
    and `1e3` is a float. Anything `kubectl apply` accepts must load here with the same meaning,
    or a valid chart is refused or changed on its way to the server. One difference is kept on
    purpose: go-yaml v2 also reads a bare `y` or `n` as a boolean, which would turn the keys of
    coordinates (`x:`, `y:`) into `true`; both stay strings here.
    """


_Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool",
     r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
     "yYnNtTfFoO"),
    ("tag:yaml.org,2002:int",
     r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$",
     "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_regexp, re.X), list(_first))

PathKey = tuple[str | int, ...]


@dataclass
class Document:
    """One YAML document: its data and the 1-based line of every key path."""

    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    source: str = "<string>"

    def line_of(self, path: PathKey) -> int | None:
        """Line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_file(path: Path, *, what: str = "YAML file") -> Document:
    text = read_text(path, what=what)
    docs = load_all(text, source=str(path))
    if len(docs) != 1:
        raise InputError(f"expected one YAML document, found {len(docs)}", where=str(path))
    return docs[0]


def load_all(
    text: str, *, source: str = "<string>", max_bytes: int = MAX_BYTES, max_document_bytes: int | None = None
) -> list[Document]:
    """Parse every document of a YAML stream; empty documents are dropped.

    `max_bytes` may be raised for output we generated ourselves (a chart's CRDs can exceed 1 MB)
    or whose size is bounded before it gets here (a template's rendered output); then
    `max_document_bytes` still bounds each document of the stream.
    """
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputError(f"YAML is over the limit of {max_bytes} bytes", where=source)
    loader = _Loader(text)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if max_document_bytes is not None:
                _check_document_size(text, node, max_document_bytes, source)
            lines: dict[PathKey, int] = {}
            _inspect(node, (), lines, source, depth=0, budget=_Budget())
            try:
                data = loader.construct_document(node)
            except ValueError as exc:  # an explicit `!!int abc` or `!!float x`
                raise InputError(
                    f"invalid YAML: {_short(str(exc))}", where=f"{source}:{node.start_mark.line + 1}"
                ) from None
            if data is not None:
                docs.append(Document(data=data, lines=lines, source=source))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"invalid YAML: {_short(problem)}", where=f"{source}{line}") from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, only a position
        row = text[: max(0, exc.position)].count("\n") + 1
        found: object = exc.character  # an int code point (both parsers), typed as str
        code = found if isinstance(found, int) else ord(str(found)[:1] or "?")
        raise InputError(
            f"invalid YAML: {exc.reason} (character #x{code:04x})", where=f"{source}:{row}"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {_short(str(exc))}", where=source) from None
    except RecursionError:
        raise InputError(f"YAML nested deeper than {MAX_DEPTH} levels", where=source) from None
    finally:
        loader.dispose()
    return docs


def load_scalar(text: str) -> Any:
    """One short value as typed on a command line (`3`, `true`, `1.5`), resolved as Kubernetes
    resolves it; text that is not one YAML scalar comes back unchanged."""
    try:
        value = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a safe loader
    except (yaml.YAMLError, RecursionError, ValueError):  # ValueError: a 5,000-digit integer
        return text
    if isinstance(value, dict | list) or (value is None and text.strip() not in ("null", "~")):
        return text
    if isinstance(value, int) and len(text.strip()) > MAX_INT_CHARS:  # 0x and 0b escape the limit
        return text
    return value


def _check_document_size(text: str, node: yaml.Node, limit: int, source: str) -> None:
    start, end = node.start_mark.index, node.end_mark.index  # characters
    if (end - start) * 4 > limit and len(text[start:end].encode("utf-8", "surrogatepass")) > limit:
        raise InputError(
            f"the YAML document at line {node.start_mark.line + 1} is over the limit of {limit} bytes",
            where=source,
        )


@dataclass
class _Budget:
    aliases: int = 0
    nodes: int = 0
    seen: set[int] = field(default_factory=set)


def _inspect(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], source: str, depth: int, budget: _Budget
) -> None:
    """Walk the composed node graph once: record lines, refuse bombs and duplicate keys."""
    where = f"{source}:{node.start_mark.line + 1}"
    if depth > MAX_DEPTH:
        raise InputError(f"YAML nested deeper than {MAX_DEPTH} levels", where=where)
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise InputError(f"YAML has more than {MAX_NODES} nodes", where=where)
    if id(node) in budget.seen:
        # The same node object again means an alias; a few are fine, a bomb is not.
        budget.aliases += 1
        if budget.aliases > MAX_ALIASES:
            raise InputError(f"YAML uses more than {MAX_ALIASES} aliases", where=where)
        if isinstance(node, yaml.ScalarNode):
            return
    if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG and len(node.value) > MAX_INT_CHARS:
        raise InputError(
            f"an integer of {len(node.value)} characters, over the limit of {MAX_INT_CHARS}", where=where
        )
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        budget.seen.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        keys: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                _inspect(value_node, path, lines, source, depth + 1, budget)
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            key_line = key_node.start_mark.line + 1
            if key in keys:
                raise InputError(
                    f"duplicate key {_short(str(key))!r} (first at line {keys[key]})",
                    where=f"{source}:{key_line}",
                )
            keys[key] = key_line
            child = (*path, str(key))
            lines[child] = key_line
            _inspect(value_node, child, lines, source, depth + 1, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _inspect(item, child, lines, source, depth + 1, budget)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dump(data: Any) -> str:
    """Deterministic block-style YAML."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


def dump_all(docs: Iterator[Any] | list[Any]) -> str:
    return yaml.dump_all(
        list(docs), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100,
        explicit_start=True,
    )


class _Dumper(yaml.SafeDumper):
    """Safe dumper that writes multi-line strings as literal blocks and never emits aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)
