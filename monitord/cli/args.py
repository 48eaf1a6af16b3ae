"""Options shared by the command families, spelled the same way in every command.

A command family registers its subcommands with `register(sub)` and sets the
function that runs them with `handles(parser, fn)`; `monitord.cli.main` owns
the one top-level parser and dispatches on that function, nothing else.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

__all__ = ["add_config_option", "add_log_options", "handles"]

if TYPE_CHECKING:  # not subscriptable at run time; used in annotations only
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
Handler = Callable[[argparse.Namespace], int]


def handles(parser: argparse.ArgumentParser, handler: Handler) -> None:
    """Make `handler` the function `monitord.cli.main` runs for this (sub)command."""
    parser.set_defaults(handler=handler)


def add_config_option(
    p: argparse.ArgumentParser, *, required: bool = True, help: str = "YAML config file"
) -> None:
    p.add_argument("--config", "-c", required=required, metavar="FILE", help=help)


def add_log_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-format", choices=["json", "console"], default="json")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
