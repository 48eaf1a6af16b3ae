"""YAML loading that remembers where every value came from.

Why: a NOC engineer fixing a 300-line config needs `checks[4].timeout (line
57)`, not a Python traceback. We compose the YAML node tree once, keep the
line of every key and item, and map pydantic's error locations back to it.
`${VAR}` and `${VAR:-default}` in string values are expanded from the
environment here, so secrets need not live in the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path = tuple[str | int, ...]


@dataclass
class YamlDocument:
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[tuple[Path, str]] = field(default_factory=list)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of the deepest known prefix of `path` (1-based)."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


def format_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_yaml(text: str, env: Mapping[str, str] | None = None) -> YamlDocument:
    """Parse `text`; raise yaml.YAMLError (with its own line) on syntax errors."""
    env = os.environ if env is None else env
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    doc = YamlDocument(data=None)
    if root is None:
        doc.data = {}
        return doc
    doc.lines[()] = root.start_mark.line + 1
    doc.data = _convert(root, (), doc, env, yaml.SafeLoader(""))
    return doc


def _convert(
    node: yaml.Node, path: Path, doc: YamlDocument, env: Mapping[str, str], loader: yaml.SafeLoader
) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int):
                doc.problems.append((path, f"mapping keys must be strings, got {key!r}"))
                continue
            child = (*path, key)
            doc.lines[child] = key_node.start_mark.line + 1
            if key in out:
                doc.problems.append((child, f"duplicate key {key!r}"))
            out[key] = _convert(value_node, child, doc, env, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            doc.lines[(*path, i)] = item.start_mark.line + 1
            items.append(_convert(item, (*path, i), doc, env, loader))
        return items
    assert isinstance(node, yaml.ScalarNode)
    value = loader.construct_object(node)
    if isinstance(value, str) and "$" in value:
        value = _expand_env(value, path, doc, env)
    return value


def _expand_env(value: str, path: Path, doc: YamlDocument, env: Mapping[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        doc.problems.append(
            (path, f"environment variable {name} is not set (referenced as ${{{name}}})")
        )
        return ""

    return _ENV_REF.sub(sub, value)
