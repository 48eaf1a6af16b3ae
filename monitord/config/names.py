"""The name rule every named thing in a config follows (checks, services, policies, calendars).

Why a module of its own: the SLA models check names too, and `monitord sla
compute` reads them without the daemon's check models; `base.py` brings the
event types with it, this does not.
"""

from __future__ import annotations

import re

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def check_name(value: str) -> str:
    if not NAME.match(value):
        raise ValueError(
            f"invalid name {value!r}: use letters, digits, '.', '_' or '-' (max 128),"
            " starting with a letter or digit"
        )
    return value
