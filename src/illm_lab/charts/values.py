"""Checking an experiment's Helm values against the chart's `values.schema.json`, offline.

helm validates values itself during `helm template`, but it stops at the first chart and reports
in its own words; `lab lint` wants every violation as a finding with the path of the value. So
lint reads the schema and the chart's default `values.yaml` from the chart (a folder or a cached
archive), merges our values over the defaults the way helm does (maps merge, `null` deletes a
key), and validates the result with `jsonschema`. Schemas of subcharts are left to helm.
"""

from __future__ import annotations

import copy
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from illm_lab.base.errors import InputError
from illm_lab.base.yamlio import MAX_BYTES, load_all, read_text

SCHEMA = "values.schema.json"
DEFAULTS = "values.yaml"


@dataclass(frozen=True)
class Violation:
    path: str  # dotted path of the value, "(root)" for the whole document
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def read_chart_file(chart: Path, name: str) -> str | None:
    """A top-level file of a chart folder or archive, or None when the chart has none."""
    if chart.is_dir():
        target = chart / name
        return read_text(target, what=f"chart {name}", max_bytes=8 * MAX_BYTES) if target.exists() else None
    try:
        with tarfile.open(chart, mode="r:*") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == name and member.isfile():
                    if member.size > 8 * MAX_BYTES:
                        raise InputError(f"{name} is over {8 * MAX_BYTES} bytes", where=str(chart))
                    handle = tar.extractfile(member)
                    return handle.read().decode("utf-8") if handle else None
    except (tarfile.TarError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read chart archive: {exc}", where=str(chart)) from None
    return None


def coalesce(defaults: Any, overrides: Any) -> Any:
    """helm's merge: nested maps merge, anything else replaces, `None` deletes the key."""
    if not isinstance(defaults, dict) or not isinstance(overrides, dict):
        return copy.deepcopy(overrides)
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def check(chart: Path, values: dict[str, Any], *, label: str) -> list[Violation] | None:
    """Violations of the chart's values schema by `values` merged over the chart's defaults;
    None when the chart has no schema. `label` names the chart in errors."""
    import jsonschema

    raw_schema = read_chart_file(chart, SCHEMA)
    if raw_schema is None:
        return None
    try:
        schema = json.loads(raw_schema)
    except json.JSONDecodeError as exc:
        raise InputError(f"chart {label}: {SCHEMA} is not valid JSON: {exc.msg} "
                         f"(line {exc.lineno})") from None
    raw_defaults = read_chart_file(chart, DEFAULTS) or ""
    docs = load_all(raw_defaults, source=f"chart {label}: {DEFAULTS}", max_bytes=8 * MAX_BYTES)
    defaults = docs[0].data if docs and isinstance(docs[0].data, dict) else {}
    merged = coalesce(defaults, values)
    try:
        validator_cls = jsonschema.validators.validator_for(schema)
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InputError(f"chart {label}: {SCHEMA} is not a valid JSON schema: "
                         f"{exc.message[:200]}") from None
    validator = validator_cls(schema)
    found = []
    for error in sorted(validator.iter_errors(merged), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(Violation(path, error.message[:300]))
    return found
