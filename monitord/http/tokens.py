"""API tokens with names: who wrote a maintenance window or a review (issue 16: the audit's "who").

The token file (`daemon.api_token_file`) holds one token per line, either
bare (named `api`, the single-token file of before) or `NAME TOKEN`; blank
lines and lines starting with `#` are skipped. A token is compared in
constant time against every configured one; the name of the match is what
the audit records.
"""

from __future__ import annotations

import hmac
import re

from monitord.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
DEFAULT_NAME = "api"


def parse_tokens(text: str, source: str = "daemon.api_token_file") -> dict[str, str]:
    """name -> token; a malformed line is a ConfigError naming the line (never the token)."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) == 1:
            name, token = DEFAULT_NAME, parts[0]
        elif len(parts) == 2 and _NAME.match(parts[0]):
            name, token = parts
        else:
            raise ConfigError(source, [f"line {number}: write TOKEN or NAME TOKEN (one per line)"])
        if name in out:
            raise ConfigError(source, [f"line {number}: token name {name!r} appears twice"])
        out[name] = token
    return out


def who(tokens: dict[str, str], given: str) -> str | None:
    """The name of the token `given` matches, or None; every token is compared (constant time)."""
    found = None
    for name, token in tokens.items():
        if hmac.compare_digest(given.encode(), token.encode()):
            found = name
    return found


def first_token(text: str) -> str | None:
    """The token a command-line client sends: the first one of the file."""
    tokens = parse_tokens(text)
    return next(iter(tokens.values()), None)
