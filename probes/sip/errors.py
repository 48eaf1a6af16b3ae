"""The one exception tree of the SIP package.

Callers need to tell apart "the peer is broken" (a monitoring finding: the
probe reports MALFORMED) from "our code is broken" (a bug to fix). Any other
exception escaping the sans-IO core is a bug in the core itself.
"""

from __future__ import annotations

__all__ = [
    "DigestParseError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "SipError",
    "SipParseError",
    "SipUriError",
]


class SipError(Exception):
    """Base of every error raised on purpose by `probes.sip`."""


class RemoteProtocolError(SipError):
    """The peer sent something that violates the protocol."""


class LocalProtocolError(SipError):
    """We misused the API (e.g. fed a response to the wrong transaction)."""


class SipParseError(RemoteProtocolError):
    """Bytes from the wire are not a well-formed SIP message."""


class DigestParseError(RemoteProtocolError):
    """A WWW-Authenticate/Proxy-Authenticate/Authorization value is not valid Digest."""


class SipUriError(SipError, ValueError):
    """A SIP URI (usually from configuration) is invalid.

    Also a `ValueError` so that config validators (pydantic) turn it into a
    normal validation error with our message.
    """
