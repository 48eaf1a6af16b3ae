"""The CLI's shape: one registration, one exit-code table, no family importing another."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

import monitord.cli
from monitord.cli.exitcodes import ExitCode
from monitord.cli.main import COMMANDS, FAMILIES, build_parser, family, main

CLI = Path(monitord.cli.__file__).parent
SHARED = {
    "monitord.cli.args", "monitord.cli.daemonapi", "monitord.cli.exitcodes", "monitord.cli.output",
}


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                nested = _subcommands(child, (*prefix, name))
                out.extend(nested or [((*prefix, name), child)])
    return out


def test_every_command_has_exactly_one_handler_and_families_register_once() -> None:
    leaves = _subcommands(build_parser())
    names = {" ".join(path) for path, _ in leaves}
    assert names == {
        "run", "check-config", "probe", "register", "call", "responder", "sla compute",
        "report", "maintenance add", "maintenance list", "maintenance delete",
        "review add", "review list",
    }
    for path, parser in leaves:
        assert callable(parser.get_default("handler")), path
    # a family is a module of its own, registered by main and nowhere else
    assert len({family(f).__name__ for f in FAMILIES}) == len(FAMILIES)
    for module in CLI.glob("*.py"):
        if module.name != "main.py":
            assert "add_subparsers(dest=\"command\"" not in module.read_text(), module


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "monitord.cli":  # `from monitord.cli import probe`
                found.update(f"monitord.cli.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("monitord.cli")}


def test_no_family_imports_another_so_there_is_no_cycle() -> None:
    families = {family(f).__name__ for f in FAMILIES}
    for name in FAMILIES:
        path = Path(str(family(name).__file__))
        assert _imports(path) <= SHARED, path
    for shared in SHARED:
        path = CLI / f"{shared.rsplit('.', 1)[1]}.py"
        if path.exists():
            assert not (_imports(path) & families), path


def test_handlers_return_codes_from_the_one_table() -> None:
    """No module keeps exit numbers of its own: every `return <int>` in the CLI is an ExitCode."""
    for path in CLI.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    names = target.elts if isinstance(target, ast.Tuple) else [target]
                    for name in names:
                        assert not (isinstance(name, ast.Name) and name.id.startswith("EXIT_")), path
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
                assert type(node.value.value) is not int, f"{path}:{node.lineno}"


def test_the_table_is_what_the_help_says(capsys: pytest.CaptureFixture[str]) -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 130]
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    epilog = " ".join(capsys.readouterr().out.split())
    for code in ExitCode:
        assert f"{int(code)} " in epilog


def _top_level(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_the_command_table_names_the_family_that_registers_each_command() -> None:
    """A command builds only its own family's parser: the table must say which that is,
    for every command, and each lazily built command must be the full parser's."""
    seen: dict[str, str] = {}
    for name in FAMILIES:
        sub = argparse.ArgumentParser().add_subparsers()
        family(name).register(sub)
        for command in sub.choices:
            assert command not in seen, f"{command} registered by {seen.get(command)} and {name}"
            seen[command] = name
    assert seen == COMMANDS
    full = _top_level(build_parser())
    for command in COMMANDS:
        alone = _top_level(build_parser(command))
        assert list(alone) == [c for c in full if COMMANDS[c] == COMMANDS[command]]
        assert alone[command].format_help() == full[command].format_help()
