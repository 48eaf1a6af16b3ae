"""The one exit-code table of the `monitord` command.

Why one table: scripts and systemd units branch on these numbers, so every
command must mean the same thing by the same code. `argparse` itself exits
with 2 on a malformed command line, which is why USAGE is 2.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a `monitord` command's exit status means, for every command."""

    OK = 0
    """Done, and what was checked is fine (probe answered, config valid, report written)."""

    FAILED = 1
    """What was checked is not fine: the probe failed, the config is invalid, or the daemon
    refused the request (the message says why)."""

    USAGE = 2
    """The command line is wrong: a malformed option, an unknown period or policy."""

    ERROR = 3
    """The job could not be done: the daemon could not start or stopped on an error, the store
    cannot be read, or the daemon cannot be reached."""

    INTERRUPTED = 130
    """Stopped with Ctrl-C (128 + SIGINT, as shells report it)."""
