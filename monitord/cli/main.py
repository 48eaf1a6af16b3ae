"""The `monitord` command: one parser, one registration, one exit-code table.

Every command family lives in its own module under `monitord/cli/` and
registers its subcommands here, once, through `register(sub)`; each
subcommand names the function that runs it (`monitord.cli.args.handles`).
What the exit status means is `monitord.cli.exitcodes.ExitCode`, the same
for every command.

A command loads only its own family: `COMMANDS` says which module registers
each top-level command, so `monitord sla compute` does not import the daemon,
the probes and asyncio just to build a parser it does not use (a fifth of its
run time at fleet scale). `--help`, `--version` and anything unknown build the
whole parser.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from monitord import __version__
from monitord.cli.exitcodes import ExitCode
from monitord.cli.output import reader_gone_guard

__all__ = ["COMMANDS", "FAMILIES", "build_parser", "family", "main"]

# The family modules, in `monitord --help` order.
FAMILIES = ("run", "checkconfig", "probe", "register", "call", "responder", "sla", "maintenance",
            "review")
# Top-level command -> the family that registers it (tests hold the two in step).
COMMANDS = {
    "run": "run", "check-config": "checkconfig", "probe": "probe", "register": "register",
    "call": "call", "responder": "responder", "sla": "sla", "report": "sla",
    "maintenance": "maintenance", "review": "review",
}


def family(name: str) -> ModuleType:
    """The family module `monitord.cli.<name>` (imported on first use)."""
    return importlib.import_module(f"monitord.cli.{name}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with a known `command`, only the family that registers it."""
    p = argparse.ArgumentParser(
        prog="monitord",
        description="Monitor hosted-VoIP platforms the way their SLAs are written.",
        epilog="Exit status: 0 OK, 1 what was checked failed, 2 usage, 3 could not do the job,"
        " 130 interrupted.",
    )
    p.add_argument("--version", action="version", version=f"monitord {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = (COMMANDS[command],) if command in COMMANDS else FAMILIES
    for name in names:
        family(name).register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    with reader_gone_guard():  # `monitord ... | head -1` ends quietly, with our own status
        given = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(given[0] if given else None).parse_args(given)
        try:
            return int(args.handler(args))
        except KeyboardInterrupt:
            return ExitCode.INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
