"""The SLA sections of a config file, for `monitord sla compute`, without the daemon's models.

Why a second loader: an offline recomputation needs `sla_policies`,
`calendars`, `maintenance` and each service's name and policy — nothing
else. Loading the whole config imports every check type (and the SNMP
stack) and walks every check, which for a fleet costs more than computing
a year of reports. This reads the YAML with libyaml when available and
validates exactly those sections with the same models and cross-checks the
full loader uses.

Errors are never weaker for it: on any problem (or when the file uses
`${VAR}` or YAML aliases) the full loader runs and reports every problem
with its line. What this loader does not do is validate the sections it
does not read; `monitord check-config` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from monitord.config.names import NAME as _NAME
from monitord.errors import ConfigError
from monitord.sla.config import (
    CalendarConfig,
    MaintenanceConfig,
    Priority,
    SlaPolicy,
    sla_reference_problems,
)

_SECTIONS = ("sla_policies", "calendars", "maintenance")
_SERVICE_KEYS = ("name", "sla_policy", "default_priority", "customer")
_STR = "tag:yaml.org,2002:str"


class _Fallback(Exception):
    """Let the full loader read the file: it reports every problem with its line, and
    handles what this one leaves to it (`${VAR}`, aliases)."""


class ServiceSla(BaseModel):
    """A service as the SLA engine sees it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    sla_policy: str | None = None
    default_priority: Priority = "P1"
    customer: str = ""


@dataclass(frozen=True)
class SlaSections:
    policies: list[SlaPolicy]
    calendars: list[CalendarConfig]
    maintenance: MaintenanceConfig
    services: list[ServiceSla] = field(default_factory=list)


def load_sla_sections(path: str | Path) -> SlaSections:
    """The SLA sections of `path`; ConfigError (with lines) on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"the file is not UTF-8 text: {exc}"]) from exc
    try:
        return _fast(text)
    except _Fallback:
        return _full(path)


def _full(path: Path) -> SlaSections:
    from monitord.config import load_config  # the full models: only on this path

    cfg = load_config(path)
    return SlaSections(
        list(cfg.sla_policies),
        list(cfg.calendars),
        cfg.maintenance,
        [ServiceSla.model_validate(s.model_dump(include=set(_SERVICE_KEYS))) for s in cfg.services],
    )


def _fast(text: str) -> SlaSections:
    if "${" in text:
        raise _Fallback  # environment references: the full loader expands them
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(text, Loader=loader_cls)
    except yaml.YAMLError:
        raise _Fallback from None
    if root is None:
        return SlaSections([], [], MaintenanceConfig())
    if not isinstance(root, yaml.MappingNode):
        raise _Fallback
    convert = _Converter()
    top: dict[str, Any] = {}
    services: Any = None
    for key_node, value_node in root.value:
        key = convert.scalar(key_node)
        if key in top or (key == "services" and services is not None):
            raise _Fallback
        if key in _SECTIONS:
            top[key] = convert.value(value_node)
        elif key == "services":
            services = convert.services(value_node)
    data = {**top, "services": services or []}
    if sla_reference_problems(data):
        raise _Fallback
    try:
        return SlaSections(
            [SlaPolicy.model_validate(p) for p in _list(top.get("sla_policies"))],
            [CalendarConfig.model_validate(c) for c in _list(top.get("calendars"))],
            MaintenanceConfig.model_validate(top.get("maintenance") or {}),
            [ServiceSla.model_validate(s) for s in services or []],
        )
    except (ValidationError, ValueError, TypeError):
        raise _Fallback from None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Fallback
    return value


class _Converter:
    """YAML nodes to Python values; refuses aliases and duplicate keys (the full loader reports them)."""

    def __init__(self) -> None:
        self._loader = yaml.SafeLoader("")
        self._seen: set[int] = set()

    def _visit(self, node: yaml.Node) -> None:
        if id(node) in self._seen:
            raise _Fallback  # an alias: shared nodes are the full loader's business
        self._seen.add(id(node))

    def scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise _Fallback
        if node.tag == _STR:  # what the constructor returns for it: the text as written
            return node.value
        return self._loader.construct_object(node)

    def value(self, node: yaml.Node) -> Any:
        self._visit(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for k, v in node.value:
                key = self.scalar(k)
                if not isinstance(key, str) or key in out:
                    raise _Fallback
                out[key] = self.value(v)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item) for item in node.value]
        return self.scalar(node)

    def services(self, node: yaml.Node) -> list[dict[str, Any]]:
        """Only the keys the SLA engine reads, each service a mapping with a valid name."""
        self._visit(node)
        if not isinstance(node, yaml.SequenceNode):
            raise _Fallback
        out: list[dict[str, Any]] = []
        for item in node.value:
            self._visit(item)
            if not isinstance(item, yaml.MappingNode):
                raise _Fallback
            svc: dict[str, Any] = {}
            seen: set[Any] = set()
            for k, v in item.value:
                key = self.scalar(k)
                if key in seen:
                    raise _Fallback
                seen.add(key)
                if key in _SERVICE_KEYS:
                    svc[key] = self.value(v)
            name = svc.get("name")
            if not isinstance(name, str):
                raise _Fallback
            if not _NAME.match(name):
                raise _Fallback
            out.append(svc)
        return out

