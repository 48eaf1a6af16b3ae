"""`monitord run --config FILE`: the daemon in the foreground (systemd runs it this way)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitord.cli.args import add_config_option, add_log_options, handles
from monitord.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    p = sub.add_parser("run", help="run the daemon")
    add_config_option(p)
    add_log_options(p)
    handles(p, run)


def run(args: argparse.Namespace) -> int:
    from monitord.config import load_config
    from monitord.daemon import Daemon
    from monitord.errors import ConfigError, MonitordError
    from monitord.logsetup import configure_logging

    configure_logging(args.log_format, args.log_level)
    try:
        cfg = load_config(args.config, require_checks=True)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.FAILED

    async def amain() -> None:
        stop = asyncio.Event()
        daemon = Daemon(cfg, config_path=Path(args.config))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)  # reload, never die
        await daemon.run(stop)

    try:
        asyncio.run(amain())
    except (MonitordError, OSError) as exc:
        print(f"monitord: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK
