"""The one exception tree of the RTP/RTCP package.

A malformed packet from the peer is a monitoring finding (the call reports
bad media), not a crash: every parser in `probes.rtp` promises that any input
either parses or raises `MediaParseError`. Any other exception escaping a
parser is a bug in the parser.
"""

from __future__ import annotations

__all__ = ["MediaError", "MediaParseError"]


class MediaError(Exception):
    """Base of every error raised on purpose by `probes.rtp`."""


class MediaParseError(MediaError):
    """Bytes from the wire are not a well-formed RTP or RTCP packet."""
