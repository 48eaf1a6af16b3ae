"""Options shared by the command families, spelled the same way in every command.

A command family registers its subcommands with `register(sub)` and sets the
function that runs them with `handles(parser, fn)`; `monitord.cli.main` owns
the one top-level parser and dispatches on that function, nothing else.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

__all__ = [
    "add_config_option",
    "add_duration_option",
    "add_log_options",
    "duration",
    "handles",
    "read_secret",
]

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


def duration(text: str) -> float:
    """An argparse type: the config's duration grammar (`500ms`, `2s`, `1m30s`).

    A bare number is still read as seconds here, as these options were
    documented before they took units; a config file must name the unit.
    """
    from monitord.config.durations import parse_duration

    try:
        seconds: float | str = float(text)
    except ValueError:
        seconds = text
    try:
        return parse_duration(seconds)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_duration_option(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, flag: str, default: str, help: str
) -> None:
    """A time option that reads like the config: `--timeout 2s` (default shown with its unit)."""
    p.add_argument(
        # a string default goes through `type` only when the option is not given
        # (argparse), so building the parser imports no config models
        flag, type=duration, default=default, metavar="DURATION",
        help=f"{help} (e.g. 500ms, 2s, 1m; default {default})",
    )


def read_secret(command: str, option: str, path: str) -> str:
    """The secret in `path`, warning (as the daemon does) when every user can read the file.

    Raises ValueError naming the option when the file cannot be used.
    """
    from monitord.cli.output import warn
    from monitord.config.secrets import read_secret_file

    try:
        secret = read_secret_file(path)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None
    if secret.world_readable:
        warn(command, f"{option} {secret.path!r} is readable by every user (chmod 600)")
    return secret.get()


def add_log_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-format", choices=["json", "console"], default="json")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
