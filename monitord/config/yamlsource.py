"""YAML loading that remembers where every value came from, within fixed limits.

Why: a NOC engineer fixing a 300-line config needs `checks[4].timeout (line
57)`, not a Python traceback. We compose the YAML node tree once, keep the
line of every key and item, and map pydantic's error locations back to it.
`${VAR}` and `${VAR:-default}` in string values are expanded from the
environment here, so secrets need not live in the file.

Limits: a config is a few thousand lines of shallow mappings, so anything far
outside that is refused with a message before it costs time or memory. The
node tree is built with anchors shared (an alias costs nothing there), but
turning it into data repeats an anchor's content at every alias, so a
"billion laughs" file would grow without end: we count the values produced
by repeating an anchor and stop at MAX_ALIAS_VALUES. Nesting is bounded at MAX_DEPTH both while composing
(PyYAML's composer recurses once per level) and while converting (an anchor
may contain its own alias).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "MAX_ALIAS_VALUES",
    "MAX_DEPTH",
    "YamlDocument",
    "YamlLimitError",
    "format_path",
    "load_yaml",
]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MAX_DEPTH = 64  # levels of mappings and lists; our deepest setting is 5 levels down
# Values produced by repeating anchors: an SNMP target reused by 2,000 checks is ~20,000.
MAX_ALIAS_VALUES = 100_000

Path = tuple[str | int, ...]


class YamlLimitError(ValueError):
    """The document is outside what a config can be (too deep, too large after aliases)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


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


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses nesting deeper than MAX_DEPTH and remembers
    where each alias in a list stands (the node it returns carries its anchor's line)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self.alias_lines: dict[tuple[int, int], int] = {}  # (id(list node), index) -> line

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise YamlLimitError(
                    f"line {mark.line + 1}",
                    f"nested deeper than {MAX_DEPTH} levels: not a monitord config",
                )
            alias_line = None
            if isinstance(index, int) and self.check_event(yaml.AliasEvent):
                alias_line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
            node = super().compose_node(parent, index)
            if alias_line is not None:
                self.alias_lines[(id(parent), index)] = alias_line
            return node
        finally:
            self._depth -= 1


def load_yaml(text: str, env: Mapping[str, str] | None = None) -> YamlDocument:
    """Parse `text`; raise yaml.YAMLError (with its own line) on syntax errors and
    YamlLimitError on a document outside the limits. `data` is None for an empty file."""
    env = os.environ if env is None else env
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    doc = YamlDocument(data=None)
    if root is None:
        return doc
    doc.lines[()] = root.start_mark.line + 1
    doc.data = _Converter(doc, env, loader.alias_lines).convert(root, (), repeat=False)
    return doc


class _Converter:
    def __init__(
        self, doc: YamlDocument, env: Mapping[str, str], alias_lines: dict[tuple[int, int], int]
    ) -> None:
        self.doc = doc
        self.env = env
        self.alias_lines = alias_lines
        self.loader = yaml.SafeLoader("")
        self.seen: set[int] = set()
        self.repeated = 0
        self.alias_at: Path = ()  # where the outermost alias being expanded is used

    def convert(self, node: yaml.Node, path: Path, *, repeat: bool) -> Any:
        """`repeat`: we are inside an alias, repeating nodes already converted once."""
        if not repeat and id(node) in self.seen:
            repeat, self.alias_at = True, path
        self.seen.add(id(node))
        if repeat:
            self.repeated += 1
            if self.repeated > MAX_ALIAS_VALUES:
                raise YamlLimitError(
                    self._where(self.alias_at),
                    f"aliases expand to more than {MAX_ALIAS_VALUES:,} values"
                    " (anchors repeating anchors: a YAML alias bomb?)",
                )
        if len(path) > MAX_DEPTH:
            raise YamlLimitError(
                self._where(self.alias_at),
                f"nested deeper than {MAX_DEPTH} levels (an anchor that contains its own alias?)",
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, repeat)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                line = self.alias_lines.get((id(node), i), item.start_mark.line + 1)
                self.doc.lines[(*path, i)] = line
                items.append(self.convert(item, (*path, i), repeat=repeat))
            return items
        assert isinstance(node, yaml.ScalarNode)
        value = self.loader.construct_object(node)
        if isinstance(value, str) and "$" in value:
            value = self._expand_env(value, path)
        return value

    def _where(self, path: Path) -> str:
        line = self.doc.line_of(path)
        return f"{format_path(path)} (line {line})" if line is not None else format_path(path)

    def _mapping(self, node: yaml.MappingNode, path: Path, repeat: bool) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                self.loader.construct_object(key_node)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if not isinstance(key, str | int):
                line = key_node.start_mark.line + 1
                self.doc.problems.append(
                    (path, f"line {line}: mapping keys must be strings, got {key!r}")
                )
                continue
            child = (*path, key)
            self.doc.lines[child] = key_node.start_mark.line + 1
            if key in out:
                self.doc.problems.append((child, f"duplicate key {key!r}"))
            out[key] = self.convert(value_node, child, repeat=repeat)
        return out

    def _expand_env(self, value: str, path: Path) -> str:
        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            self.doc.problems.append(
                (path, f"environment variable {name} is not set (referenced as ${{{name}}})")
            )
            return ""

        return _ENV_REF.sub(sub, value)
