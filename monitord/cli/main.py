"""The `monitord` command: one parser, one registration, one exit-code table.

Every command family lives in its own module under `monitord/cli/` and
registers its subcommands here, once, through `register(sub)`; each
subcommand names the function that runs it (`monitord.cli.args.handles`).
What the exit status means is `monitord.cli.exitcodes.ExitCode`, the same
for every command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from monitord import __version__
from monitord.cli import (
    call,
    checkconfig,
    maintenance,
    probe,
    register,
    responder,
    review,
    run,
    sla,
)
from monitord.cli.exitcodes import ExitCode
from monitord.cli.output import reader_gone_guard

__all__ = ["build_parser", "main"]

# In `monitord --help` order.
FAMILIES = (run, checkconfig, probe, register, call, responder, sla, maintenance, review)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="monitord",
        description="Monitor hosted-VoIP platforms the way their SLAs are written.",
        epilog="Exit status: 0 OK, 1 what was checked failed, 2 usage, 3 could not do the job,"
        " 130 interrupted.",
    )
    p.add_argument("--version", action="version", version=f"monitord {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for family in FAMILIES:
        family.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    with reader_gone_guard():  # `monitord ... | head -1` ends quietly, with our own status
        args = build_parser().parse_args(argv)
        try:
            return int(args.handler(args))
        except KeyboardInterrupt:
            return ExitCode.INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
