"""Load a config file and report every problem at once, each with its YAML path and line."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from monitord.config.models import (
    CHECK_MODELS,
    CheckConfig,
    Config,
    DaemonConfig,
    Defaults,
    ServiceConfig,
)
from monitord.config.yamlsource import YamlDocument, format_path, load_yaml
from monitord.core.checkstate import Thresholds
from monitord.errors import ConfigError
from monitord.sla.config import CREDIT_TYPES, SLA_MODELS, sla_reference_problems

Problem = tuple[tuple[str | int, ...], str]


@dataclass(frozen=True, slots=True)
class EffectiveCheck:
    """A check with the `defaults` section applied: what the scheduler runs."""

    config: CheckConfig
    interval: float
    timeout: float
    thresholds: Thresholds

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def type(self) -> str:
        return self.config.type


def effective_checks(cfg: Config) -> list[EffectiveCheck]:
    return [_effective(c, cfg.defaults) for c in cfg.checks]


def _effective(check: CheckConfig, d: Defaults) -> EffectiveCheck:
    def pick(value: object, default: object) -> object:
        return default if value is None else value

    return EffectiveCheck(
        config=check,
        interval=check.interval or d.interval,
        timeout=check.timeout or d.timeout,
        thresholds=Thresholds(
            alert_after=check.alert_after or d.alert_after,
            down_after=check.down_after or d.down_after,
            recover_after=check.recover_after or d.recover_after,
            downtime_start=check.downtime_start or d.downtime_start,
        ),
    )


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"the file is not UTF-8 text: {exc}"]) from exc
    return parse_config(text, source=str(path), env=env)


def parse_config(
    text: str, *, source: str = "<config>", env: Mapping[str, str] | None = None
) -> Config:
    try:
        doc = load_yaml(text, env)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [_syntax_problem(exc)]) from exc
    problems: list[Problem] = list(doc.problems)
    if not isinstance(doc.data, dict):
        problems.append(((), "the top level must be a mapping (daemon:, checks: ...)"))
        raise ConfigError(source, _render(doc, problems))
    problems.extend(_reference_problems(doc.data))
    try:
        cfg = Config.model_validate(doc.data)
    except ValidationError as exc:
        # a value whose ${VAR} is unset already has its problem: skip the knock-on one
        unset = {path for path, _ in doc.problems}
        problems.extend(p for p in _pydantic_problems(doc, exc) if p[0] not in unset)
        raise ConfigError(source, _render(doc, problems)) from None
    problems.extend(_semantic_problems(cfg))
    if problems:
        raise ConfigError(source, _render(doc, problems))
    return cfg


def _syntax_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"YAML syntax error: {problem}"
    text = f"line {mark.line + 1}, column {mark.column + 1}: YAML syntax error: {problem}"
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and cmark is not None:
        text += f" ({context} at line {cmark.line + 1}, column {cmark.column + 1})"
    return text


def _render(doc: YamlDocument, problems: list[Problem]) -> list[str]:
    """One line per problem, in file order, each once."""
    seen: set[str] = set()
    ordered = sorted(problems, key=lambda p: doc.line_of(p[0]) or 0)
    out = []
    for path, message in ordered:
        text = _at(doc, path, message)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _at(doc: YamlDocument, path: tuple[str | int, ...], message: str) -> str:
    line = doc.line_of(path)
    where = f" (line {line})" if line is not None else ""
    return f"{format_path(path)}{where}: {message}"


def _pydantic_problems(doc: YamlDocument, exc: ValidationError) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        path = _yaml_path(doc, err["loc"])
        if err["type"] == "extra_forbidden":
            message = f"unknown key {path[-1]!r}" if path else "unknown key"
            message += _suggest(path)
        elif err["type"] == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag")
            message = f"unknown check type {tag!r}; known types: {', '.join(CHECK_MODELS)}"
            if "credits" in path:
                message = f"unknown credit type {tag!r}; known types: {', '.join(CREDIT_TYPES)}"
            path = (*path, "type")
        elif err["type"] == "missing":
            message = "required key is missing"
        elif err["type"] in _BOUNDS:
            bound = next(iter(err.get("ctx", {}).values()), "?")
            message = f"must be {_BOUNDS[err['type']]} {bound}, got {err.get('input')!r}"
        elif err["type"] in ("int_type", "int_parsing", "int_from_float"):
            message = f"must be a whole number, got {err.get('input')!r}"
        else:
            message = err["msg"].removeprefix("Value error, ")
        out.append((path, message))
    return out


_BOUNDS = {
    "greater_than_equal": "at least",
    "greater_than": "greater than",
    "less_than_equal": "at most",
    "less_than": "less than",
}


def _yaml_path(doc: YamlDocument, loc: tuple[int | str, ...]) -> tuple[str | int, ...]:
    """Map a pydantic loc onto the YAML: parts that are not in the document are
    union tags (dropped), except a final key, which is the missing or unknown one."""
    path: tuple[str | int, ...] = ()
    node = doc.data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:  # noqa: SIM114 - mypy needs the split
            path, node = (*path, part), node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path, node = (*path, part), node[part]
        elif i == len(loc) - 1 and isinstance(node, dict):
            path = (*path, part)
    return path


def _model_keys(path: tuple[str | int, ...]) -> list[str]:
    models: dict[str, list[type[BaseModel]]] = {
        "daemon": [DaemonConfig],
        "defaults": [Defaults],
        "checks": list(CHECK_MODELS.values()),
        "services": [ServiceConfig],
        **SLA_MODELS,
    }
    if len(path) <= 1:
        return list(Config.model_fields)
    return [f for m in models.get(str(path[0]), []) for f in m.model_fields]


def _suggest(path: tuple[str | int, ...]) -> str:
    if not path or not isinstance(path[-1], str):
        return ""
    close = difflib.get_close_matches(path[-1], _model_keys(path), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _reference_problems(data: dict[str, Any]) -> list[Problem]:
    """Name checks on the raw document, so they are reported alongside key errors."""
    problems: list[Problem] = []
    checks = data.get("checks")
    names: dict[str, int] = {}
    for i, check in enumerate(checks if isinstance(checks, list) else []):
        name = check.get("name") if isinstance(check, dict) else None
        if not isinstance(name, str):
            continue
        if name in names:
            problems.append(
                (
                    ("checks", i, "name"),
                    f"duplicate check name {name!r} (also checks[{names[name]}])",
                )
            )
        names.setdefault(name, i)
    services = data.get("services")
    seen: set[str] = set()
    for i, svc in enumerate(services if isinstance(services, list) else []):
        if not isinstance(svc, dict):
            continue
        if isinstance(svc.get("name"), str):
            if svc["name"] in seen:
                problems.append(
                    (("services", i, "name"), f"duplicate service name {svc['name']!r}")
                )
            seen.add(svc["name"])
        members = svc.get("checks")
        if not isinstance(members, list):
            continue
        for j, member in enumerate(members):
            if isinstance(member, str) and isinstance(checks, list) and member not in names:
                problems.append((("services", i, "checks", j), f"unknown check {member!r}"))
        hashable = [m for m in members if isinstance(m, str)]
        if len(set(hashable)) != len(hashable):
            problems.append((("services", i, "checks"), "a check is listed twice"))
    problems.extend(sla_reference_problems(data))
    return problems


def _semantic_problems(cfg: Config) -> list[Problem]:
    """Rules that need validated values: thresholds after defaults, timeout vs interval."""
    problems: list[Problem] = []
    for i, check in enumerate(cfg.checks):
        try:
            eff = _effective(check, cfg.defaults)
        except ValueError as exc:
            problems.append((("checks", i), str(exc)))
            continue
        if eff.timeout > eff.interval:
            problems.append(
                (
                    ("checks", i, "timeout" if check.timeout else "interval"),
                    f"timeout ({eff.timeout:g}s) is longer than the interval ({eff.interval:g}s):"
                    " probes of one check would overlap",
                )
            )
    if not cfg.checks and cfg.defaults.alert_after > cfg.defaults.down_after:
        problems.append((("defaults", "alert_after"), "alert_after cannot exceed down_after"))
    for i, svc in enumerate(cfg.services):
        if svc.required_down() > len(svc.checks):
            problems.append(
                (
                    ("services", i, "down_when"),
                    f"at_least {svc.required_down()} is more than the service's"
                    f" {len(svc.checks)} check(s)",
                )
            )
    return problems
