"""Load a config file and report every problem at once, each with its YAML path and line."""

from __future__ import annotations

import contextlib
import copy
import difflib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from monitord.config.base import FieldProblem
from monitord.config.durations import FROM_FILE
from monitord.config.models import (
    CHECK_MODELS,
    CheckConfig,
    Config,
    Defaults,
    ServiceConfig,
)
from monitord.config.yamlsource import YamlDocument, YamlLimitError, format_path, load_yaml
from monitord.core.checkstate import Thresholds
from monitord.errors import ConfigError
from monitord.sla.config import CREDIT_TYPES, entries, sla_reference_problems

Problem = tuple[tuple[str | int, ...], str]


@dataclass(frozen=True, slots=True)
class EffectiveCheck:
    """A check with the `defaults` section applied: what the scheduler runs."""

    config: CheckConfig
    interval: float
    timeout: float
    thresholds: Thresholds
    # copies of `config.name` and `config.type`, read several times per probe by the
    # pipeline and every sink: a field costs a tenth of a property's call
    name: str = field(init=False)
    type: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.config.name)
        object.__setattr__(self, "type", self.config.type)


def effective_checks(cfg: Config) -> list[EffectiveCheck]:
    return [_effective(c, cfg.defaults) for c in cfg.checks]


def _effective(check: CheckConfig, d: Defaults) -> EffectiveCheck:
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


MAX_CONFIG_BYTES = 8 * 1024 * 1024  # ~100 times a 2,000-check config


def load_config(
    path: str | Path, env: Mapping[str, str] | None = None, *, require_checks: bool = False
) -> Config:
    """Read and validate a config file; ConfigError lists every problem found."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                str(path), [f"the file is {size:,} bytes; a config is at most {MAX_CONFIG_BYTES:,}"]
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"the file is not UTF-8 text: {exc}"]) from exc
    return parse_config(text, source=str(path), env=env, require_checks=require_checks)


def parse_config(
    text: str,
    *,
    source: str = "<config>",
    env: Mapping[str, str] | None = None,
    require_checks: bool = False,
) -> Config:
    """Validate a config, reporting every problem in one pass.

    `require_checks`: a config without checks would have the daemon watch
    nothing, so it is refused; `monitord sla compute` passes False, because a
    file holding only sla_policies, calendars and maintenance is its normal input.
    """
    try:
        doc = load_yaml(text, env)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [_syntax_problem(exc)]) from exc
    except YamlLimitError as exc:
        raise ConfigError(source, [str(exc)]) from None
    problems: list[Problem] = list(doc.problems)
    if doc.data is None:  # nothing, comments only, or a lone `---` / `~`
        raise ConfigError(
            source,
            ["(top level): the file is empty: a config needs at least checks: (see config/example.yaml)"],
        )
    if not isinstance(doc.data, dict):
        problems.append(((), "the top level must be a mapping (daemon:, checks: ...)"))
        raise ConfigError(source, _render(doc, problems))
    problems.extend(_reference_problems(doc.data))
    cfg, parts, found = _validate(doc)
    problems.extend(found)
    problems.extend(_semantic_problems(parts))
    if require_checks and not (doc.data.get("checks") or []):
        problems.append(
            (
                ("checks",) if "checks" in doc.data else (),
                "no checks: the daemon would watch nothing (a file with only sla_policies,"
                " calendars and maintenance is for `monitord sla compute`)",
            )
        )
    if problems or cfg is None:
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


# --- validation in one pass -----------------------------------------------------------

_CONTEXT = {FROM_FILE: True}
_CHECK = TypeAdapter(CheckConfig)


@dataclass(frozen=True, slots=True)
class _Parts:
    """What validated, section by section, for the cross-section rules."""

    defaults: Defaults | None
    checks: list[tuple[int, CheckConfig]]
    services: list[tuple[int, ServiceConfig]]


def _validate(doc: YamlDocument) -> tuple[Config | None, _Parts, list[Problem]]:
    """Validate the whole file; on failure, also each section on its own.

    Why more than one validation: pydantic does not run a model's cross-field
    rules while one of its keys is unknown, and the rules that span sections
    (timeout vs interval after defaults) need the sections valid. Unknown keys
    mean nothing, so validating again without them cannot invent a problem; it
    reports what would otherwise only appear once the misspelling is fixed.
    """
    unset = {path for path, _ in doc.problems}  # a ${VAR} problem hides its knock-on error
    data: dict[str, Any] = doc.data
    try:
        cfg = Config.model_validate(data, context=_CONTEXT)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    else:
        parts = _Parts(cfg.defaults, list(enumerate(cfg.checks)), list(enumerate(cfg.services)))
        return cfg, parts, []
    problems = [p for p in _pydantic_problems(doc, errors) if p[0] not in unset]
    unknown = [_yaml_path(doc, e["loc"]) for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        data = _without(data, unknown)
        try:
            Config.model_validate(data, context=_CONTEXT)
        except ValidationError as exc:
            again = _pydantic_problems(doc, exc.errors(include_url=False))
            problems.extend(p for p in again if p[0] not in unset)
    return None, _sections(data), problems


def _without(data: Any, paths: list[tuple[str | int, ...]]) -> Any:
    """A copy of `data` without the keys at `paths`."""
    out = copy.deepcopy(data)
    for path in paths:
        node = out
        for part in path[:-1]:
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int):
                node = node[part]
        if isinstance(node, dict) and path:
            node.pop(path[-1], None)
    return out


def _sections(data: dict[str, Any]) -> _Parts:
    """Each section entry that validates on its own."""
    defaults: Defaults | None = None
    with contextlib.suppress(ValidationError):
        defaults = Defaults.model_validate(data.get("defaults") or {}, context=_CONTEXT)
    checks: list[tuple[int, CheckConfig]] = []
    raw_checks = data.get("checks")
    for i, item in enumerate(raw_checks if isinstance(raw_checks, list) else []):
        with contextlib.suppress(ValidationError):
            checks.append((i, _CHECK.validate_python(item, context=_CONTEXT)))
    services: list[tuple[int, ServiceConfig]] = []
    raw_services = data.get("services")
    for i, item in enumerate(raw_services if isinstance(raw_services, list) else []):
        with contextlib.suppress(ValidationError):
            services.append((i, ServiceConfig.model_validate(item, context=_CONTEXT)))
    return _Parts(defaults, checks, services)


def _pydantic_problems(doc: YamlDocument, errors: list[ErrorDetails]) -> list[Problem]:
    out: list[Problem] = []
    for err in errors:
        path = _yaml_path(doc, err["loc"])
        cause = err.get("ctx", {}).get("error")
        if err["type"] == "extra_forbidden":
            message = f"unknown key {path[-1]!r}" if path else "unknown key"
            message += _suggest(doc, path)
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
        elif err["type"] == "finite_number":
            message = f"must be a finite number, got {err.get('input')!r}"
        else:
            message = err["msg"].removeprefix("Value error, ")
        if isinstance(cause, FieldProblem) and (*path, cause.field) in doc.lines:
            path = (*path, cause.field)  # a cross-field rule blames a field the file sets
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
        elif i == len(loc) - 1 and isinstance(node, dict) and part != node.get("type"):
            path = (*path, part)  # the unknown or missing key (not the union's tag)
    return path


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field can hold: `X`, `X | None`, `list[X]`, `dict[str, X]`, unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _pick(models: list[type[BaseModel]], node: Any) -> list[type[BaseModel]]:
    """Of a union's models, the one whose `type` the node names (all, if none does)."""
    if len(models) > 1 and isinstance(node, dict):
        for model in models:
            field = model.model_fields.get("type")
            if field is not None and node.get("type") in typing.get_args(field.annotation):
                return [model]
    return models


def _keys_at(doc: YamlDocument, path: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the mapping at `path`, found by following the models."""
    models: list[type[BaseModel]] = [Config]
    node: Any = doc.data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        fields = [m.model_fields[part] for m in _pick(models, node) if part in m.model_fields]
        models = [m for f in fields for m in _models_in(f.annotation)]
        node = node.get(part) if isinstance(node, dict) else None
    return [f for m in _pick(models, node) for f in m.model_fields]


def _suggest(doc: YamlDocument, path: tuple[str | int, ...]) -> str:
    if not path or not isinstance(path[-1], str):
        return ""
    key, keys = path[-1], _keys_at(doc, path[:-1])
    secret = [k for k in (f"{key}_file", f"{key}_env") if k in keys]
    if secret:  # `community:` -> community_file; `password:` -> password_file
        return f": secrets are never written in the config; use {' or '.join(secret)}"
    close = difflib.get_close_matches(key, keys, n=1)
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
    seen: set[str] = set()
    for i, svc in entries(data.get("services")):
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


def _semantic_problems(parts: _Parts) -> list[Problem]:
    """Rules that need validated values: thresholds after defaults, timeout vs interval.

    Judged for every check and service that validated on its own, so a
    mistake elsewhere in the file does not hide these until the next run.
    """
    problems: list[Problem] = []
    d = parts.defaults
    for i, check in parts.checks:
        if d is None:  # its own problem is reported; without it the effective values are unknown
            break
        try:
            eff = _effective(check, d)
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
    if d is not None and not parts.checks and d.alert_after > d.down_after:
        problems.append((("defaults", "alert_after"), "alert_after cannot exceed down_after"))
    for i, svc in parts.services:
        if svc.required_down() > len(svc.checks):
            problems.append(
                (
                    ("services", i, "down_when"),
                    f"at_least {svc.required_down()} is more than the service's"
                    f" {len(svc.checks)} check(s)",
                )
            )
    return problems
