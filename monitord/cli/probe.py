"""`monitord probe TARGET`: one probe from the shell, like sipsak or snmpget.

The same probes, failure reasons and details the daemon uses, so "the probe
says auth_failure" means the same thing here and in an alert. SIP targets
(`sip:`, `sips:`) get an OPTIONS request; `snmp://[user@]HOST[:PORT]/OID`
gets a GET (or a walk). SNMP credentials never go on the command line (it
shows in `ps` and shell history): a community or v3 password comes from a
file option or an environment variable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from typing import TYPE_CHECKING

from monitord.cli.args import add_duration_option, handles, read_secret
from monitord.cli.exitcodes import ExitCode
from monitord.cli.output import result_line

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands
    from probes.snmp.client import SnmpAuth, SnmpEndpoint

__all__ = ["register"]

_SNMP_URL = re.compile(
    r"^snmp://(?:(?P<user>[^@/]+)@)?(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?/(?P<oid>[0-9.]+)$"
)


def register(sub: Subcommands) -> None:
    p = sub.add_parser("probe", help="probe a target once (like sipsak) and print the result")
    p.add_argument(
        "target",
        help="sip:HOST[:PORT][;transport=udp|tcp|tls], sips:HOST[:PORT] or snmp://[user@]HOST[:PORT]/OID",
    )
    add_duration_option(p, "--timeout", "3s", "how long to wait for the answer")
    p.add_argument("--accept", default="2xx", help="accepted status codes, e.g. 2xx,404")
    p.add_argument("--ca-file", help="sips:/TLS: PEM CA bundle (default: the system store)")
    p.add_argument("--server-name", help="sips:/TLS: name to verify and send as SNI")
    p.add_argument("--insecure", action="store_true",
                   help="sips:/TLS: do not verify the certificate (lab targets only)")
    g = p.add_argument_group("SNMP (for snmp://[user@]HOST[:PORT]/OID targets)")
    g.add_argument("--snmp-version", choices=["v1", "v2c", "v3"],
                   help="default: v3 with user@, else v2c")
    g.add_argument("--community-file",
                   help="file holding the community (or $MONITORD_SNMP_COMMUNITY; default 'public')")
    # names checked when the probe runs, so parsing any command needs no SNMP engine
    g.add_argument("--auth-protocol", help="md5, sha, sha224, sha256, sha384 or sha512")
    g.add_argument("--auth-password-file", help="or $MONITORD_SNMP_AUTH_PASSWORD")
    g.add_argument("--priv-protocol", help="des, 3des, aes, aes128, aes192, aes256, ...")
    g.add_argument("--priv-password-file", help="or $MONITORD_SNMP_PRIV_PASSWORD")
    g.add_argument("--retries", type=int, default=1)
    g.add_argument("--walk", action="store_true",
                   help="walk the subtree with GETBULK instead of a GET")
    handles(p, run)


def run(args: argparse.Namespace) -> int:
    if args.target.startswith("snmp://"):
        return _probe_snmp(args)
    return _probe_sip(args)


def _probe_sip(args: argparse.Namespace) -> int:
    from monitord.config.base import parse_status_codes
    from probes.errors import SipUriError
    from probes.sip.options import probe_once
    from probes.sip.tls import TlsSettings

    try:
        accept = parse_status_codes([a for a in args.accept.split(",") if a])
    except ValueError as exc:
        print(f"monitord probe: --accept: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if args.timeout <= 0:
        print("monitord probe: --timeout must be positive", file=sys.stderr)
        return ExitCode.USAGE
    try:
        tls = TlsSettings(args.ca_file, not args.insecure, args.server_name)
        result = asyncio.run(probe_once(args.target, args.timeout, accept, tls))
    except SipUriError as exc:
        print(f"monitord probe: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    reason = result.reason.value if result.reason else None
    print(result_line(result.ok, args.target, result.detail, reason=reason, latency=result.latency))
    return ExitCode.OK if result.ok else ExitCode.FAILED


# --- SNMP ---------------------------------------------------------------------------


def _secret(path: str | None, option: str, env: str) -> str:
    if path:
        return read_secret("probe", option, path)
    return os.environ.get(env, "")


def _snmp_auth(args: argparse.Namespace, user: str | None) -> SnmpAuth:
    from probes.snmp.client import AUTH_PROTOCOLS, PRIV_PROTOCOLS, SnmpAuth

    for option, value, known in (
        ("--auth-protocol", args.auth_protocol, AUTH_PROTOCOLS),
        ("--priv-protocol", args.priv_protocol, PRIV_PROTOCOLS),
    ):
        if value is not None and value not in known:
            raise ValueError(f"{option}: {value!r} is not one of {', '.join(sorted(known))}")
    version = args.snmp_version or ("v3" if user else "v2c")
    if version != "v3":
        community = (
            _secret(args.community_file, "--community-file", "MONITORD_SNMP_COMMUNITY") or "public"
        )
        return SnmpAuth(version="v1" if version == "v1" else "v2c", community=community)
    auth_key = _secret(
        args.auth_password_file, "--auth-password-file", "MONITORD_SNMP_AUTH_PASSWORD"
    )
    priv_key = _secret(
        args.priv_password_file, "--priv-password-file", "MONITORD_SNMP_PRIV_PASSWORD"
    )
    auth_protocol = args.auth_protocol or ("sha" if auth_key else "none")
    priv_protocol = args.priv_protocol or ("aes" if priv_key else "none")
    return SnmpAuth("v3", user=user or "", auth_protocol=auth_protocol, auth_key=auth_key,
                    priv_protocol=priv_protocol, priv_key=priv_key)


def _probe_snmp(args: argparse.Namespace) -> int:
    from probes.snmp.client import SnmpEndpoint
    from probes.snmp.oids import normalize_oid

    match = _SNMP_URL.match(args.target)
    if match is None:
        print("monitord probe: use snmp://[user@]HOST[:PORT]/OID with a numeric OID",
              file=sys.stderr)
        return ExitCode.USAGE
    try:
        oid = normalize_oid(match["oid"])
        auth = _snmp_auth(args, match["user"])
    except (ValueError, OSError) as exc:
        print(f"monitord probe: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if not 0 <= args.retries <= 5:
        print("monitord probe: --retries must be 0..5", file=sys.stderr)
        return ExitCode.USAGE
    host = match["host"].strip("[]")
    ep = SnmpEndpoint(host, int(match["port"] or 161), auth, retries=args.retries)
    return asyncio.run(_snmp_once(ep, oid, args.timeout, args.walk, args.target))


async def _snmp_once(ep: SnmpEndpoint, oid: str, timeout: float, walk: bool, shown: str) -> int:
    from probes.errors import SnmpError
    from probes.snmp.client import SnmpClient

    client = SnmpClient()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        if walk:
            table, latency = await client.walk(ep, [oid], deadline)
            rows = [(f"{oid}.{i}", v) for i, v in table[oid].items()]
        else:
            values, latency = await client.get(ep, [oid], deadline)
            rows = list(values.items())
    except SnmpError as exc:
        print(result_line(False, shown, exc.detail, reason=exc.reason.value, latency=exc.latency))
        return ExitCode.FAILED
    finally:
        await client.close()
    print(result_line(True, shown, f"{len(rows)} value(s), {ep.auth.version} {ep.auth.level}",
                      latency=latency))
    for name, value in rows:
        print(f"  {name} = {show_value(name, value)}")
    return ExitCode.OK


# Objects that are TimeTicks (centiseconds); the client hands them over as plain integers.
_TIMETICKS = {
    "1.3.6.1.2.1.1.3": "sysUpTime",  # SNMPv2-MIB: since the agent (re)started
    "1.3.6.1.2.1.1.8": "sysORLastChange",  # SNMPv2-MIB
    "1.3.6.1.2.1.25.1.1": "hrSystemUptime",  # HOST-RESOURCES-MIB: since the host booted
    "1.3.6.1.2.1.2.2.1.9": "ifLastChange",  # IF-MIB, per interface
}


def show_value(oid: str, value: object) -> str:
    """A value as snmpget would show it; TimeTicks as days and clock time, ticks kept."""
    for prefix, name in _TIMETICKS.items():
        if isinstance(value, int) and oid.startswith(prefix + ".") and value >= 0:
            return f"{format_ticks(value)} ({name}, {value} ticks)"
    return repr(value)


def format_ticks(ticks: int) -> str:
    """Centiseconds as `3 days 04:05:06.78` (an uptime a person can read)."""
    seconds, centis = divmod(ticks, 100)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}.{centis:02d}"
    return f"{days} day{'' if days == 1 else 's'} {clock}" if days else clock
