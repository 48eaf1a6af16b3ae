"""Durations as people write them (`500ms`, `10s`, `1m30s`, `2h`, `1d`), one parser for all.

Why one parser: the config file, the SLA sections and every CLI option that
takes a time use this grammar, so `--timeout 2s` and `timeout: 2s` mean the
same. A file must name the unit: `interval: 5` has been read as five minutes
by people and as five seconds by the daemon, so a bare number in a file is
refused with the spelling to use instead. Python callers (and the command
line, where the options were documented as seconds) may still pass seconds.

Every duration is positive, finite and at most a year; settings with a
tighter sane range say so with `bounded()`, because an interval of 10^20
hours is a typo, not a plan, and must not reach datetime arithmetic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

__all__ = [
    "FROM_FILE",
    "MAX_DURATION",
    "Duration",
    "bounded",
    "format_duration",
    "parse_duration",
]

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_DURATION = 366 * 86400.0
# Validation-context key: set when the values come from a file a person wrote.
FROM_FILE = "monitord.from_file"


def format_duration(seconds: float) -> str:
    """86400 -> '1d', 90 -> '1m30s', 0.25 -> '250ms': how we quote a bound back."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    out, rest = "", seconds
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if rest >= size:
            whole = int(rest // size)
            out, rest = out + f"{whole}{unit}", rest - whole * size
    if rest or not out:
        out += f"{rest:g}s"
    return out


def parse_duration(
    value: Any, *, bare_number_ok: bool = True, maximum: float = MAX_DURATION
) -> float:
    """'10s', '5m', '1m30s', '250ms' (or a number of seconds, where allowed) -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: use e.g. 500ms, 10s, 5m, 1h")
    if isinstance(value, int | float):
        seconds = float(value)
        if not bare_number_ok and math.isfinite(seconds) and seconds > 0:
            shown = f"{seconds:g}s"
            if "e" in shown:  # 1e+06s is not our grammar
                shown = format_duration(seconds)
            raise ValueError(f"{value!r} has no unit: write '{shown}' for seconds (or use ms, m, h, d)")
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        pos, seconds = 0, 0.0
        for match in _PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise ValueError(
                f"invalid duration {value!r}: use a number with a unit, e.g. 500ms, 10s, 5m, 1h"
            )
    else:
        raise ValueError(f"invalid duration {value!r}: expected a string like '10s'")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"duration must be positive and finite, got {value!r}")
    if seconds > maximum:
        raise ValueError(
            f"{value!r} is longer than this setting allows (at most {format_duration(maximum)})"
        )
    return seconds


def _from_file(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get(FROM_FILE))


def bounded(maximum: float) -> Callable[[Any, ValidationInfo], float]:
    """The validator of a duration field of at most `maximum` seconds:
    `Annotated[float, BeforeValidator(bounded(3600))]`."""

    def validate(value: Any, info: ValidationInfo) -> float:
        return parse_duration(value, bare_number_ok=not _from_file(info), maximum=maximum)

    return validate


Duration = Annotated[float, BeforeValidator(bounded(MAX_DURATION))]
