"""What a call core takes and reports: settings, states, events, outgoing bytes.

Shared by the UAC core (`dialog`) and the UAS core (`uas_dialog`), and the
vocabulary of the asyncio call probe. Events are frozen and slotted; each
carries the `time` (the `now` passed in) it happened at, so set-up time and
post-dial delay are differences of event times.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidValue, LocalProtocolError
from .digest import Credentials
from .message import Request, Response
from .uri import SipUri

__all__ = [
    "ALLOW",
    "SDP",
    "AuthChallenged",
    "CallAnswered",
    "CallEnded",
    "CallEvent",
    "CallFailed",
    "CallSettings",
    "CallState",
    "EarlyMedia",
    "FailureCause",
    "Outgoing",
    "Provisional",
    "RemoteHangup",
    "is_sdp",
]

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"


class CallState(enum.Enum):
    CALLING = "calling"
    EARLY = "early"
    CANCELLING = "cancelling"
    CONFIRMED = "confirmed"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


class FailureCause(enum.StrEnum):
    NO_ANSWER = "no_answer"  # answer_timeout passed: CANCEL sent (or a 1xx never came)
    BUSY = "busy"  # 486 Busy Here, 600 Busy Everywhere
    REJECTED = "rejected"  # any other 3xx-6xx: the status says which
    AUTH_REJECTED = "auth_rejected"  # 401/407 we could not (or may no longer) answer
    TIMEOUT = "timeout"  # Timer B: no response at all to the INVITE


@dataclass(frozen=True, slots=True)
class CallSettings:
    """What one call needs; `credentials` never shows in repr (see `Credentials`)."""

    target: SipUri
    local_host: str
    local_port: int
    transport: Literal["udp", "tcp", "tls"] = "udp"
    from_user: str = "monitord"
    from_uri: str | None = None  # the AOR to call as; default sip:from_user@target host
    credentials: Credentials | None = None
    answer_timeout: float = 30.0
    max_auth_rounds: int = 3
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    user_agent: str = "monitord/0.1"

    def __post_init__(self) -> None:
        if self.answer_timeout <= 0 or not 0 < self.t1 <= self.t2 or self.max_auth_rounds < 0:
            raise LocalProtocolError(
                "need answer_timeout > 0, 0 < t1 <= t2 and max_auth_rounds >= 0"
            )

    @property
    def sent_by(self) -> str:
        host = f"[{self.local_host}]" if ":" in self.local_host else self.local_host
        return f"{host}:{self.local_port}"

    def via(self, branch: str) -> str:
        # RFC 3581 §3: ask for rport so replies cross NAT back to our real port.
        return f"SIP/2.0/{self.transport.upper()} {self.sent_by};rport;branch={branch}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes to send; `uri` is the next hop (§8.1.2), None for a response (back to its source)."""

    data: bytes
    uri: str | None


@dataclass(frozen=True, slots=True)
class Provisional:
    response: Response
    time: float

    def __post_init__(self) -> None:
        if not 100 <= self.response.status <= 199:
            raise InvalidValue(f"not a provisional status: {self.response.status}")


@dataclass(frozen=True, slots=True)
class EarlyMedia:
    """A 18x carried an SDP answer: media may flow before the call is answered."""

    status: int
    sdp: bytes
    time: float


@dataclass(frozen=True, slots=True)
class AuthChallenged:
    """A 401/407 was answered with credentials in a new INVITE (§22.2)."""

    status: int
    realm: str
    algorithm: str
    stale: bool
    time: float


@dataclass(frozen=True, slots=True)
class CallAnswered:
    response: Response
    sdp: bytes
    time: float


@dataclass(frozen=True, slots=True)
class CallFailed:
    cause: FailureCause
    status: int | None
    detail: str
    time: float


@dataclass(frozen=True, slots=True)
class RemoteHangup:
    """The far end sent BYE during the call (we answered 200)."""

    request: Request
    time: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """Our BYE completed: `status` is its final response, None if it timed out."""

    status: int | None
    time: float


CallEvent = (
    Provisional | EarlyMedia | AuthChallenged | CallAnswered | CallFailed | RemoteHangup | CallEnded
)


def is_sdp(message: Request | Response) -> bool:
    """A non-empty body declared as application/sdp."""
    content_type = (message.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return bool(message.body) and content_type == SDP
