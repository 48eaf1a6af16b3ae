"""`monitord probe snmp://[user@]HOST[:PORT]/OID`: one SNMP GET (or walk) from the shell.

Like `snmpget`, but through the same client, failure reasons and details
the daemon uses, so "the probe says auth_failure" means the same thing here
and in an alert. Credentials never go on the command line (it shows in `ps`
and shell history): a community or v3 password comes from a file option or
an environment variable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path

from probes.snmp.client import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    SnmpAuth,
    SnmpClient,
    SnmpEndpoint,
    SnmpError,
)
from probes.snmp.oids import normalize_oid

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_URL = re.compile(r"^snmp://(?:(?P<user>[^@/]+)@)?(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?/(?P<oid>[0-9.]+)$")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SNMP (for snmp://[user@]HOST[:PORT]/OID targets)")
    g.add_argument("--snmp-version", choices=["v1", "v2c", "v3"], help="default: v3 with user@, else v2c")
    g.add_argument("--community-file", help="file holding the community (or $MONITORD_SNMP_COMMUNITY; default 'public')")
    g.add_argument("--auth-protocol", choices=sorted(AUTH_PROTOCOLS), default=None)
    g.add_argument("--auth-password-file", help="or $MONITORD_SNMP_AUTH_PASSWORD")
    g.add_argument("--priv-protocol", choices=sorted(PRIV_PROTOCOLS), default=None)
    g.add_argument("--priv-password-file", help="or $MONITORD_SNMP_PRIV_PASSWORD")
    g.add_argument("--retries", type=int, default=1)
    g.add_argument("--walk", action="store_true", help="walk the subtree with GETBULK instead of a GET")


def _secret(path: str | None, env: str) -> str:
    if path:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    return os.environ.get(env, "")


def _auth(args: argparse.Namespace, user: str | None) -> SnmpAuth:
    version = args.snmp_version or ("v3" if user else "v2c")
    if version != "v3":
        community = _secret(args.community_file, "MONITORD_SNMP_COMMUNITY") or "public"
        return SnmpAuth(version="v1" if version == "v1" else "v2c", community=community)
    auth_key = _secret(args.auth_password_file, "MONITORD_SNMP_AUTH_PASSWORD")
    priv_key = _secret(args.priv_password_file, "MONITORD_SNMP_PRIV_PASSWORD")
    auth_protocol = args.auth_protocol or ("sha" if auth_key else "none")
    priv_protocol = args.priv_protocol or ("aes" if priv_key else "none")
    return SnmpAuth("v3", user=user or "", auth_protocol=auth_protocol, auth_key=auth_key,
                    priv_protocol=priv_protocol, priv_key=priv_key)


def probe_snmp(args: argparse.Namespace) -> int:
    match = _URL.match(args.target)
    if match is None:
        print("monitord probe: use snmp://[user@]HOST[:PORT]/OID with a numeric OID", file=sys.stderr)
        return EXIT_USAGE
    try:
        oid = normalize_oid(match["oid"])
        auth = _auth(args, match["user"])
    except (ValueError, OSError) as exc:
        print(f"monitord probe: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0 or not 0 <= args.retries <= 5:
        print("monitord probe: --timeout must be positive, --retries 0..5", file=sys.stderr)
        return EXIT_USAGE
    host = match["host"].strip("[]")
    ep = SnmpEndpoint(host, int(match["port"] or 161), auth, retries=args.retries)
    return asyncio.run(_run(ep, oid, args.timeout, args.walk, args.target))


async def _run(ep: SnmpEndpoint, oid: str, timeout: float, walk: bool, shown: str) -> int:
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
        print(f"FAIL {shown}: {exc.reason.value}: {exc.detail}")
        return EXIT_FAILED
    finally:
        await client.close()
    print(f"OK {shown}: {len(rows)} value(s) in {latency * 1000:.2f} ms ({ep.auth.version} {ep.auth.level})")
    for name, value in rows:
        print(f"  {name} = {value!r}")
    return EXIT_OK
