"""Shared building blocks of the manifest models.

Manifests are written in camelCase (like Kubernetes objects); Python code uses snake_case. Every
model forbids unknown fields, so a typo is an error naming the field instead of a silently
ignored setting.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel


class Strict(BaseModel):
    """Base of every manifest model: camelCase aliases, unknown fields rejected, frozen."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
    )


DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(value: Any) -> float:
    """Accept seconds as a number or a Go-style duration ("90s", "2m", "1h30m") and return seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 2m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value and (match := _DURATION.match(value.strip())):
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise ValueError(f"expected a duration such as 30s, 2m or 1h, got {value!r:.40}")
    if not math.isfinite(seconds):  # `.nan` would pass every comparison below, `.inf` never end
        raise ValueError("a duration must be a finite number of seconds")
    if seconds <= 0 or seconds > 24 * 3600:
        raise ValueError("a duration must be more than 0s and at most 24h")
    return seconds


def format_duration(seconds: float) -> str:
    return f"{seconds:g}s"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _DURATION.pattern},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "description": "seconds, or a duration such as 30s, 2m, 1h30m",
        }
    ),
]
