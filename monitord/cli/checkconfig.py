"""`monitord check-config --config FILE`: validate a config and list every problem at once.

What a NOC runs before a restart (and systemd's ExecStartPre): exit 0 with a
summary of what the daemon would run, or exit 1 with each problem on its own
line, naming the YAML path and line. The checks are those of `monitord run`,
so a config without checks is refused here too.

`check-config FILE` (positional) was the old spelling; every other command
takes `--config`, so the positional still works but says so on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from monitord.cli.args import add_config_option, handles
from monitord.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    p = sub.add_parser("check-config", help="validate a config file and list every problem")
    add_config_option(p, required=False, help="the YAML config file to validate")
    p.add_argument("file", nargs="?", metavar="FILE", help="deprecated: use --config FILE")
    handles(p, run)


def _config_path(args: argparse.Namespace) -> str | None:
    if args.file is None:
        return args.config  # type: ignore[no-any-return]
    print(
        "monitord check-config: note: `check-config FILE` is deprecated;"
        " write `check-config --config FILE`, like every other command",
        file=sys.stderr,
    )
    if args.config is not None and args.config != args.file:
        return None
    return args.file  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> int:
    from monitord.config import effective_checks, load_config
    from monitord.config.durations import format_duration
    from monitord.config.secrets import secret_warnings
    from monitord.config.snmp import snmp_warnings
    from monitord.errors import ConfigError

    path = _config_path(args)
    if path is None:
        print(
            "monitord check-config: give the config file once: --config FILE"
            + (" (not two different files)" if args.file else ""),
            file=sys.stderr,
        )
        return ExitCode.USAGE
    try:
        cfg = load_config(path, require_checks=True)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.FAILED
    checks = effective_checks(cfg)
    print(f"{path}: OK ({len(checks)} checks, {len(cfg.services)} services)")
    for warning in secret_warnings(cfg):
        print(f"  warning: {warning}")
    for warning in snmp_warnings(cfg.checks):
        print(f"  warning: {warning}")
    for c in checks:
        t = c.thresholds
        print(
            f"  {c.name}: {c.type} every {format_duration(c.interval)},"
            f" timeout {format_duration(c.timeout)}, alert after {t.alert_after},"
            f" down after {t.down_after}, recover after {t.recover_after}"
        )
    return ExitCode.OK
