"""The architecture as tests: no import cycles, one writer, small modules.

Read from the source (ast), so a violation fails here before anyone has to
spot it in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("monitord", "probes")
MAX_LINES = 600
# The store's write side: only the pipeline commits; storage implements it; the daemon is
# the composition root that opens the store and hands it to the pipeline.
WRITER_NAMES = {"StoreWriter", "Store", "Batch", "CheckCommit", "ServiceCommit", "QualityCommit",
                "EventCommit", "MaintenanceAdd", "MaintenanceDelete", "GapCommit"}
BACKENDS = ("monitord.storage.sqlite", "monitord.storage.sqlite.store", "monitord.storage.postgresql",
            "monitord.storage.factory", "monitord.storage.writer")
MAY_WRITE = {"monitord.core.pipeline", "monitord.core.backlog", "monitord.core.resync",
             "monitord.core.steps", "monitord.daemon",
             "monitord.http.context", "monitord.http.sla", "monitord.storage"}


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


def runtime_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) imported at module level, outside `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, list[str]]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found.extend((a.name, []) for a in node.names)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)

    visit(tree.body)
    return found


MODULES = modules()


def test_no_import_cycles() -> None:
    graph = {
        name: {m for m, _ in runtime_imports(path) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("monitord.sinks")))
def test_no_sink_imports_the_stores_writer(name: str) -> None:
    for module, names in runtime_imports(MODULES[name]):
        if module.startswith("monitord.storage"):
            assert not WRITER_NAMES.intersection(names), f"{name} imports {names} from {module}"
            assert module not in BACKENDS, f"{name} imports the backend {module}"


def test_only_the_pipeline_commits() -> None:
    writers = sorted(
        name for name, path in MODULES.items()
        if any(module.startswith("monitord.storage") and WRITER_NAMES.intersection(names)
               for module, names in runtime_imports(path))
        and not any(name == w or name.startswith(w + ".") for w in MAY_WRITE)
    )
    assert writers == []


def test_modules_stay_small() -> None:
    big = {name: n for name, path in MODULES.items()
           if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert big == {}, f"over {MAX_LINES} lines: {big}"
