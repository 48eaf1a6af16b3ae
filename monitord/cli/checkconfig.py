"""`monitord check-config FILE`: validate a config and list every problem at once.

What a NOC runs before a restart (and systemd's ExecStartPre): exit 0 with a
summary of what the daemon would run, or exit 1 with each problem on its own
line, naming the YAML path and line.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from monitord.cli.args import handles
from monitord.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    p = sub.add_parser("check-config", help="validate a config file and list every problem")
    p.add_argument("file")
    handles(p, run)


def run(args: argparse.Namespace) -> int:
    from monitord.config import effective_checks, load_config
    from monitord.config.secrets import secret_warnings
    from monitord.config.snmp import snmp_warnings
    from monitord.errors import ConfigError

    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.FAILED
    checks = effective_checks(cfg)
    print(f"{args.file}: OK ({len(checks)} checks, {len(cfg.services)} services)")
    for warning in secret_warnings(cfg):
        print(f"  warning: {warning}")
    for warning in snmp_warnings(cfg.checks):
        print(f"  warning: {warning}")
    for c in checks:
        t = c.thresholds
        print(
            f"  {c.name}: {c.type} every {c.interval:g}s, timeout {c.timeout:g}s,"
            f" alert after {t.alert_after}, down after {t.down_after}, recover after {t.recover_after}"
        )
    return ExitCode.OK
