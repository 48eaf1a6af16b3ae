"""Configuration: typed models, YAML loading with line numbers, effective per-check settings."""

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
