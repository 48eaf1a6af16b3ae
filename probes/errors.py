"""The one exception tree of `probes`: every error a probe raises on purpose.

Callers must tell three things apart, so the tree is cut along them:

- "our code is broken" (`LocalProtocolError`): a core or adapter was misused;
  a bug to fix, never a finding about the target;
- "the peer is broken" (`RemoteProtocolError` and its parse errors): bytes
  from the wire that violate the protocol, which a probe reports as
  `malformed_response` (h11's split, see /work/shared/style.md);
- "a request failed" (`ProbeFailure`): a network condition already classified
  with the `FailureReason` and the sentence a NOC engineer reads, which a
  probe turns into its result as it is. When our own daemon was too late to
  judge (overload), the failure is marked `inconclusive` and must never be
  recorded against the target.

`InvalidValue` is an argument or setting out of range (usually from the
configuration). It is also a `ValueError`, so config validators (pydantic)
turn it into a normal validation error carrying our message.

Any other exception escaping a sans-IO core or a parser is a bug in it: the
fuzz tests hold every parser to "parses or raises RemoteProtocolError".
"""

from __future__ import annotations

from .reasons import FailureReason

__all__ = [
    "DigestParseError",
    "DnsQueryError",
    "InvalidValue",
    "LocalProtocolError",
    "MediaParseError",
    "NotComparable",
    "ProbeError",
    "ProbeFailure",
    "RemoteProtocolError",
    "SdpError",
    "SdpNegotiationError",
    "SdpParseError",
    "SipParseError",
    "SipUriError",
    "SnmpDecodeError",
    "SnmpError",
]


class ProbeError(Exception):
    """Base of every error raised on purpose by `probes`."""


# -- we broke it ----------------------------------------------------------------------


class LocalProtocolError(ProbeError):
    """We misused a core or an adapter (fed a response to the wrong transaction,
    sent before `start()`): a bug in our code, not a finding about the target."""


class InvalidValue(ProbeError, ValueError):
    """An argument or setting is out of range or malformed (the caller's input)."""


class SipUriError(InvalidValue):
    """A SIP URI (usually from configuration) is invalid."""


# -- the peer broke it ------------------------------------------------------------------


class RemoteProtocolError(ProbeError):
    """The peer sent something that violates the protocol."""


class SipParseError(RemoteProtocolError):
    """Bytes from the wire are not a well-formed SIP message."""


class SnmpDecodeError(RemoteProtocolError):
    """Bytes that are not an SNMPv1/v2c response message (probes/snmp/ber.py)."""


class DigestParseError(RemoteProtocolError):
    """A WWW-Authenticate/Proxy-Authenticate/Authorization value is not valid Digest."""


class SdpError(RemoteProtocolError):
    """Base of the SDP errors: the far end's session description is unusable."""


class SdpParseError(SdpError):
    """The SDP text is malformed; `line_number` is 1-based (None: the whole body)."""

    def __init__(self, reason: str, line_number: int | None = None, line: str | None = None) -> None:
        self.reason = reason
        self.line_number = line_number
        self.line = line
        where = f"SDP line {line_number} ({line!r})" if line_number is not None else "SDP"
        super().__init__(f"{where}: {reason}")


class SdpNegotiationError(SdpError):
    """The answer (or offer) is well formed but leaves no usable audio stream (RFC 3264 §6)."""


class MediaParseError(RemoteProtocolError):
    """Bytes from the wire are not a well-formed RTP or RTCP packet."""


# -- a request failed --------------------------------------------------------------------


class ProbeFailure(ProbeError):
    """One request failed, already classified: `reason` and `detail` go into the result.

    `latency` is what was measured before the failure (an error status still
    has a round trip). `inconclusive` means our own daemon was too late to
    tell (its socket dropped datagrams, it sent late, its loop lagged): the
    detail then says so, and the result must not count against the target.
    """

    def __init__(
        self, reason: FailureReason, detail: str, latency: float | None = None, *,
        inconclusive: bool = False,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.latency = latency
        self.inconclusive = inconclusive


class DnsQueryError(ProbeFailure):
    """The resolver failed (timeout, SERVFAIL, refused): not the same as "no records"."""

    def __init__(self, detail: str, *, timed_out: bool = False) -> None:
        super().__init__(FailureReason.DNS, detail)
        self.timed_out = timed_out


class SnmpError(ProbeFailure):
    """A failed SNMP request, classified (timeout, auth, noSuchObject...); no credential in it."""


class NotComparable(ProbeFailure):
    """A text value where a comparator needs a number: the agent's value is not what
    the check expects, reported as a malformed response."""

    def __init__(self, detail: str) -> None:
        super().__init__(FailureReason.MALFORMED, detail)
