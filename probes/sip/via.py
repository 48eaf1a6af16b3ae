"""The Via header value (RFC 3261 §20.42): parsed once per row, with no I/O.

Every response we route is matched by its top Via's branch (§17.1.3), so
parsing it is on every probe's path: the parameters of an ordinary Via are
taken in one regex pass; anything unusual goes through the general loop,
which gives the same result or the same error. The form peers echo back to
us (as we wrote it) is matched first by one stricter pattern.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..errors import SipParseError

__all__ = ["TOKEN", "Via", "parse_via", "routing_branch"]

TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")  # §25.1 token, as header names are too
_VIA = re.compile(
    r"SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)(?:\s*:\s*([0-9]{1,5}))?\s*((?:;.*)?)",
    re.IGNORECASE,
)

# Parameters with nothing to strip: ";name" or ";name=value", value printable ASCII
# without blanks or ";". Anything else takes the general loop (same result or error).
_VIA_PARAMS = re.compile(r"(?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[!-:<-~]+)?)*")
_VIA_PARAM = re.compile(r";([A-Za-z0-9\-.!%*_+`'~]+)(=?)([!-:<-~]*)")
# The Via every peer sends back to us, as we wrote it: upper-case "SIP/2.0/<transport>", one
# blank, a name or IPv4 sent-by, an optional port and plain parameters. A value this matches
# parses the same on the general path; it only skips the blanks and case the RFC allows.
_COMMON_VIA = re.compile(
    r"SIP/2\.0/(UDP|TCP|TLS|SCTP|WSS?) ([A-Za-z0-9\-.]+)(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[!-:<-~]+)?)*)"
)


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value (§20.42): transport, sent-by and parameters."""

    transport: str
    host: str
    port: int | None = None
    params: tuple[tuple[str, str | None], ...] = ()

    @property
    def branch(self) -> str | None:
        for key, value in self.params:  # spelled in lower case nearly always: no lower()
            if key == "branch":
                return value
        return self.param("branch")

    def param(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.params if k.lower() == lname), None)

    def has_param(self, name: str) -> bool:
        lname = name.lower()
        return any(k.lower() == lname for k, _ in self.params)

    def with_params(self, **updates: str | None) -> Via:
        """Copy with parameters replaced or appended (used for received/rport, RFC 3581)."""
        params = list(self.params)
        for name, value in updates.items():
            for i, (k, _) in enumerate(params):
                if k.lower() == name.lower():
                    params[i] = (k, value)
                    break
            else:
                params.append((name, value))
        return Via(self.transport, self.host, self.port, tuple(params))

    def __str__(self) -> str:
        out = f"SIP/2.0/{self.transport} {self.host}"
        if self.port is not None:
            out += f":{self.port}"
        for key, value in self.params:
            out += f";{key}" if value is None else f";{key}={value}"
        return out


def parse_via(value: str) -> Via:
    """Parse one Via value (already split on commas)."""
    # Our own Via, echoed: all but its branch (the last parameter) is the same for every
    # request from a socket, so that part is parsed once. A plain branch value (printable
    # ASCII without blanks or ";") extends the common form it follows into the common
    # form of the whole value, and the parameters of the whole are the part's plus it.
    prefix, sep, branch = value.rpartition(";branch=")
    if sep and _plain_branch(branch):
        known = _common_via(prefix)
        if known is not None:
            return Via(known[0].transport, known[0].host, known[0].port,
                       (*known[0].params, ("branch", branch)))
    return _parse_via(value)


def routing_branch(value: str) -> str | None:
    """`parse_via(value).branch or ""` when `value` is sure to parse (the common form
    `parse_via` takes its shortcut for), without making the `Via`; None when unsure.

    Why: a response is routed by its top Via's branch alone (§17.1.3), and nothing on
    an OPTIONS probe's path reads the rest of the Via; the message parses it when asked.
    """
    prefix, sep, branch = value.rpartition(";branch=")
    # `_plain_branch`, inline: this runs for every answer
    if sep and branch and branch.isascii() and (branch.isalnum() or (
            branch.isprintable() and " " not in branch and ";" not in branch)):
        known = _common_via(prefix)
        if known is not None:
            # the first exact "branch" parameter wins (`Via.branch`): the part's, if any
            return branch if known[1] is None else known[1]
    return None


def _plain_branch(branch: str) -> bool:
    # a branch of letters and digits (ours) is plain at once; else checked character-wise
    return bool(branch) and branch.isascii() and (branch.isalnum() or (
        branch.isprintable() and " " not in branch and ";" not in branch))


@functools.lru_cache(maxsize=1024)
def _common_via(value: str) -> tuple[Via, str | None] | None:
    """`parse_via` of a value in the common form (port in range), and what its first
    parameter named exactly "branch" holds ("" when it has no value, None when there is
    no such parameter); None when not in the common form."""
    common = _COMMON_VIA.fullmatch(value)
    if common is None or (common.group(3) and not 1 <= int(common.group(3)) <= 65535):
        return None
    via = _parse_via(value)
    return via, next(((v or "") for k, v in via.params if k == "branch"), None)


def _parse_via(value: str) -> Via:
    common = _COMMON_VIA.fullmatch(value)
    if common is not None:
        transport, host, port_text, param_text = common.groups()
        port = int(port_text) if port_text else None
        if port is None or 1 <= port <= 65535:  # else the general path names the error
            params = []
            for item in param_text.split(";")[1:]:  # each "name" or "name=value"
                name, eq, pvalue = item.partition("=")
                params.append((name, pvalue if eq else None))
            return Via(transport, host, port, tuple(params))
    return parse_via_general(value)


def parse_via_general(value: str) -> Via:
    """`parse_via` for any value, naming what is wrong with a bad one (also what the
    common form's shortcut is tested against)."""
    match = _VIA.fullmatch(value.strip())
    if match is None:
        raise SipParseError(f"malformed Via: {value[:120]!r}")
    transport, host, port_text, param_text = match.groups()
    port = int(port_text) if port_text else None
    if port is not None and not 1 <= port <= 65535:
        raise SipParseError(f"Via port out of range: {value[:120]!r}")
    if _VIA_PARAMS.fullmatch(param_text):
        # printable, no blanks: what every Via we see looks like, found in one pass
        return Via(transport.upper(), host, port,
                   tuple((name, value if eq else None)
                         for name, eq, value in _VIA_PARAM.findall(param_text)))
    params: list[tuple[str, str | None]] = []
    for item in param_text.split(";")[1:]:
        name, eq, pvalue = item.partition("=")
        name, pvalue = name.strip(), pvalue.strip()
        if not TOKEN.fullmatch(name) or (eq and not pvalue) or " " in pvalue:
            raise SipParseError(f"malformed Via parameter {item!r} in {value[:120]!r}")
        params.append((name, pvalue if eq else None))
    return Via(transport.upper(), host, port, tuple(params))
