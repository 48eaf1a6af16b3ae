"""Why a probe failed: the cause a downtime interval starts with.

Its own module so that `probes.errors` (whose failures carry a reason) and
`probes.base` (whose results do) share it without importing each other.
"""

from __future__ import annotations

import enum

__all__ = ["FailureReason"]


class FailureReason(enum.StrEnum):
    TIMEOUT = "timeout"
    REFUSED = "refused"
    MALFORMED = "malformed_response"
    STATUS = "status_not_accepted"
    DNS = "dns_failure"
    NETWORK = "network_error"
    INTERNAL = "internal_error"
    # A value was measured but breaks a configured limit (CPU above max, disk full...).
    THRESHOLD = "threshold"
    # SNMPv3 credentials rejected (wrong auth password, unknown user, bad digest).
    AUTH = "auth_failure"
    # The agent answered, but the configured OID does not exist there (noSuchObject/Instance).
    NO_SUCH_OBJECT = "no_such_object"
    # Synthetic calls (sip_call): what a caller would have lived through.
    NO_ANSWER = "no_answer"  # nobody answered within answer_timeout (CANCEL sent)
    BUSY = "busy"  # 486 Busy Here / 600 Busy Everywhere
    CALL_REJECTED = "call_rejected"  # any other 3xx-6xx to the INVITE; the detail names it
    NO_MEDIA = "no_media"  # answered, but no RTP arrived (or no usable SDP answer)
    ONE_WAY_AUDIO = "one_way_audio"  # media flowed in one direction only
    DROPPED = "dropped"  # the far end hung up early, or media stopped mid-call
    AUDIO_GAPS = "audio_gaps"  # media flowed, but the test signal had gaps (detail: how long)
    LOOPED_BACK = "looped_back_media"  # we heard our own signal where a far end should speak
    UNEXPECTED_AUDIO = "unexpected_audio"  # audio, but not what the far end should send back
    DTMF_FAILED = "dtmf_failed"  # the digits sent did not come back (an IVR path is broken)
    # SIP credentials refused: 403, or a second 401/407 after answering the challenge.
    REJECTED = "rejected"
    # TLS handshake failed: certificate expired, wrong host, unknown CA, no common protocol.
    TLS = "tls_failure"
