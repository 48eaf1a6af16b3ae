"""Configuration: typed models, YAML loading with line numbers, effective per-check settings.

The names below load on first use (PEP 562): importing a building block such
as `monitord.config.durations` (the SLA sections do, for `monitord sla
compute`) must not pull in every check model and the SNMP stack with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitord.config.load import EffectiveCheck, effective_checks, load_config, parse_config
    from monitord.config.models import CheckConfig, Config, ServiceConfig, SipOptionsCheck

__all__ = [
    "CheckConfig",
    "Config",
    "EffectiveCheck",
    "ServiceConfig",
    "SipOptionsCheck",
    "effective_checks",
    "load_config",
    "parse_config",
]
_FROM_LOAD = ("EffectiveCheck", "effective_checks", "load_config", "parse_config")


def __getattr__(name: str) -> Any:
    if name in _FROM_LOAD:
        from monitord.config import load

        return getattr(load, name)
    if name in __all__:
        from monitord.config import models

        return getattr(models, name)
    raise AttributeError(f"module 'monitord.config' has no attribute {name!r}")
