"""Config model for the `sip_call` check: a synthetic call through the platform.

A call is costly (a trunk channel, ~100 kbit/s each way for `duration`), so
unlike the other checks it does not inherit `defaults.interval`: without an
explicit `interval` it runs once a minute, and without an explicit `timeout`
it gets exactly the time a whole call may take (answer, media, hang-up). An
explicit timeout shorter than that is refused at load, since every call would
otherwise end as a timeout that says nothing about the platform.

The digest password never sits in the file: `password_file` is read once at
load (see secrets.py).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictInt, field_validator, model_validator

from monitord.config.base import CheckBase, FieldProblem, Strict, paired, sip_target, sip_token
from monitord.config.durations import Duration, bounded, parse_duration
from monitord.config.secrets import SecretFromFile
from monitord.config.siptls import SipTlsConfig

__all__ = [
    "DEFAULT_CALL_INTERVAL",
    "HANGUP_WAIT",
    "CallDtmf",
    "CallJitterBuffer",
    "CallQualityWindow",
    "SipCallCheck",
    "call_budget",
]

DEFAULT_CALL_INTERVAL = 60.0
HANGUP_WAIT = 2.0  # seconds allowed for the BYE's answer (CallProbeSettings.hangup_wait)


# A test call longer than an hour ties up a trunk channel for nothing a KPI needs.
CallSeconds = Annotated[float, BeforeValidator(bounded(3600.0))]
BufferSeconds = Annotated[float, BeforeValidator(bounded(2.0))]


class CallJitterBuffer(Strict):
    """The receiver model MOS is computed with (probes/quality/jitterbuffer.py): packets
    later than it would play them count as lost."""

    type: Literal["adaptive", "fixed"] = "adaptive"
    nominal: BufferSeconds = 0.040  # fixed: the depth; adaptive: where it starts
    minimum: BufferSeconds = 0.020
    maximum: BufferSeconds = 0.200

    @model_validator(mode="after")
    def _ordered(self) -> CallJitterBuffer:
        if self.type == "adaptive" and not self.minimum <= self.nominal <= self.maximum:
            raise FieldProblem("nominal", "an adaptive jitter buffer needs minimum <= nominal"
                               f" <= maximum, got {self.minimum:g}s, {self.nominal:g}s,"
                               f" {self.maximum:g}s")
        return self


class CallDtmf(Strict):
    """RFC 4733 digits sent during the call: `digits` from `start` (after the answer),
    `interval` apart, or at the explicit `offsets`. With `require_round_trip` the call
    fails unless the same digits come back (`monitord responder --media tone` sends
    back what it receives; an echo returns them as they were)."""

    digits: str = Field(min_length=1, max_length=32)
    start: CallSeconds = 1.0
    interval: CallSeconds = 0.5
    offsets: list[CallSeconds] | None = None
    require_round_trip: bool = False

    @field_validator("digits")
    @classmethod
    def _digits(cls, value: str) -> str:
        bad = sorted({c for c in value.upper() if c not in "0123456789*#ABCD"})
        if bad:
            raise ValueError(f"not DTMF digits: {''.join(bad)!r} (use 0-9, *, #, A-D)")
        return value.upper()

    @model_validator(mode="after")
    def _offsets(self) -> CallDtmf:
        if self.offsets is not None and len(self.offsets) != len(self.digits):
            raise FieldProblem("offsets", f"one offset per digit: {len(self.digits)} digits,"
                               f" {len(self.offsets)} offsets")
        if self.interval < 0.16:
            raise FieldProblem("interval", "digits need at least 160 ms between starts"
                               " (100 ms event and its end repeats)")
        return self

    def schedule(self) -> tuple[tuple[str, float], ...]:
        offsets = self.offsets or [self.start + i * self.interval
                                   for i in range(len(self.digits))]
        return tuple(zip(self.digits, offsets, strict=True))


def call_budget(answer_timeout: float, duration: float) -> float:
    """The longest one call can take; mirrors `CallProbeSettings.budget`."""
    return answer_timeout + duration + HANGUP_WAIT + 1.0


class SipCallCheck(CheckBase):
    type: Literal["sip_call"]
    target: str  # sip:USER@HOST[:PORT][;transport=udp|tcp|tls] or sips:: who to call
    from_user: str = "monitord"
    auth_user: str | None = None  # digest user name; needs password_file
    password_file: SecretFromFile | None = None
    duration: CallSeconds = 5.0  # seconds of test signal once answered
    answer_timeout: CallSeconds = 10.0  # CANCEL when nobody answered by then
    media_timeout: CallSeconds = 2.0  # no RTP for this long mid-call: dropped
    codec: Literal["PCMU", "PCMA"] | None = None  # None: offer both, PCMU first
    local_address: str | None = None  # RTP bind address; default our SIP address
    # who answers: any (a real UA or IVR), echo (our signal comes back), answer_point
    # (`monitord responder --media tone`: its own signal; ours coming back is a fault)
    far_end: Literal["any", "echo", "answer_point"] = "any"
    jitter_buffer: CallJitterBuffer = Field(default_factory=CallJitterBuffer)
    gap_threshold: Annotated[float, BeforeValidator(bounded(60.0))] = 0.1
    dtmf: CallDtmf | None = None
    tls: SipTlsConfig = Field(default_factory=SipTlsConfig)  # for sips: / transport=tls

    @model_validator(mode="before")
    @classmethod
    def _call_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        # written as text with a unit, as a file would, so a config's own checks still apply
        data.setdefault("interval", f"{DEFAULT_CALL_INTERVAL:g}s")
        if "timeout" not in data:
            try:
                answer = parse_duration(data.get("answer_timeout", 10.0))
                duration = parse_duration(data.get("duration", 5.0))
            except ValueError:
                return data  # the field validators report it, with the key
            data["timeout"] = f"{call_budget(answer, duration):.6f}s"
        return data

    @model_validator(mode="after")
    def _consistent(self) -> SipCallCheck:
        paired(self, "auth_user", "password_file",
               "auth_user and password_file go together (digest authentication)")
        if self.dtmf is not None:
            late = [o for _, o in self.dtmf.schedule() if o >= self.duration]
            if late:
                raise FieldProblem("dtmf", f"a digit at {late[0]:g}s falls outside the"
                                   f" {self.duration:g}s of media (duration)")
        need = call_budget(self.answer_timeout, self.duration)
        if self.timeout is not None and self.timeout < need:
            raise FieldProblem(
                "timeout",
                f"timeout ({self.timeout:g}s) is shorter than a whole call: answer_timeout"
                f" + duration + {HANGUP_WAIT + 1:g}s = {need:g}s"
            )
        return self

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return sip_target(value, user="the user to call")

    @field_validator("from_user", "auth_user")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return sip_token(value, "user", '"<>@:')

    @field_validator("local_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)
        return value


class CallQualityWindow(Strict):
    """A service's `call_quality:` block: which calls its quality priority is judged on.

    XTIUM writes quality incidents as shares of calls (monitord/core/callquality.py):
    the last `calls` answered calls of the service's `sip_call` checks, none older
    than `window`, and no priority at all from fewer than `min_calls`.
    """

    calls: StrictInt = Field(default=20, ge=1, le=10_000)
    window: Duration = 3600.0
    min_calls: StrictInt = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _min_calls(self) -> CallQualityWindow:
        if self.min_calls > self.calls:
            raise FieldProblem(
                "min_calls",
                f"min_calls ({self.min_calls}) cannot exceed calls ({self.calls}):"
                " the window never holds that many"
            )
        return self
