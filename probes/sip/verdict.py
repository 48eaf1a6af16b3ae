"""A test call's verdict, sans-IO: what the caller lived through, decided with a clock passed in.

The call probe is an adapter around two cores, the SIP dialog (dialog.py)
and the media session (probes/rtp/session.py); this is the third, which
turns what they report into the verdict. `CallJudge` follows the call:

* SIP events in (`sip_event`): an answer opens the call, a final failure is
  the verdict (rejected, busy, no answer), a far end's BYE during the media
  phase drops the call; `media_started(now)` starts the media phase, which
  lasts `duration` from there;
* time in (`handle_timer(now, last_rx_at)`, re-armed at `get_timer`): the
  media phase ends after `duration`; media that arrived and then stopped
  for `media_timeout` ends it early ("media stopped");
* at the end, `judge(facts)` decides from the media figures, pure: dropped
  (by whom, when), media stopped, no media, one-way (which direction),
  silence, looped-back media, audio gaps, digits that did not come back.

Directions: "rx" is far end -> us (what the caller hears), "tx" is us -> far
end (what the far end hears). What we know of tx comes from the far end's
RTCP: its report blocks about our SSRC, our answer point's audio report, or
our own packets coming back from a packet echo.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import LocalProtocolError
from ..quality.audio import AudioFigures
from ..reasons import FailureReason
from .call import CallAnswered, CallEvent, CallFailed, RemoteHangup

__all__ = [
    "CallJudge",
    "CallOutcome",
    "Direction",
    "FarEnd",
    "MediaFacts",
    "Verdict",
    "judge",
]


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"  # media both ways carried the expected signals, no gaps
    REJECTED = "rejected"  # a final failure before the answer (busy, no answer, 4xx-6xx)
    DROPPED = "dropped"  # the call ended during the media phase (BYE, transport)
    MEDIA_STOPPED = "media_stopped"  # the call stayed up, media ceased mid-call
    NO_MEDIA = "no_media"  # answered, no RTP either way
    ONE_WAY = "one_way"  # one direction carried nothing (no RTP, or only silence)
    LOOPED_BACK = "looped_back"  # our own signal came back where a far end should speak
    UNEXPECTED_AUDIO = "unexpected_audio"  # audio, not the signal the far end should send
    AUDIO_GAPS = "audio_gaps"  # the signal had gaps (count, longest)
    DTMF_FAILED = "dtmf_failed"  # the digits did not make the round trip


class Direction(enum.StrEnum):
    RX = "rx"  # far end -> us
    TX = "tx"  # us -> far end


class FarEnd(enum.StrEnum):
    """What the called party is expected to send back."""

    ANY = "any"  # whatever it is, audio is enough (a real UA, an IVR)
    ECHO = "echo"  # our own signal (SIPp -rtp_echo, an echo service)
    ANSWER_POINT = "answer_point"  # `monitord responder --media tone`: its own signal


_REASONS = {
    CallOutcome.DROPPED: FailureReason.DROPPED,
    CallOutcome.MEDIA_STOPPED: FailureReason.DROPPED,
    CallOutcome.NO_MEDIA: FailureReason.NO_MEDIA,
    CallOutcome.ONE_WAY: FailureReason.ONE_WAY_AUDIO,
    CallOutcome.LOOPED_BACK: FailureReason.LOOPED_BACK,
    CallOutcome.UNEXPECTED_AUDIO: FailureReason.UNEXPECTED_AUDIO,
    CallOutcome.AUDIO_GAPS: FailureReason.AUDIO_GAPS,
    CallOutcome.DTMF_FAILED: FailureReason.DTMF_FAILED,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: CallOutcome
    detail: str
    direction: Direction | None = None
    dropped_by: str | None = None  # "far_end" (its BYE) or "transport"
    at: float | None = None  # seconds after the answer the call dropped or media stopped

    @property
    def reason(self) -> FailureReason | None:
        return _REASONS.get(self.outcome)


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the media phase produced, for `judge` (see probes/rtp/session.py)."""

    tx_packets: int
    rx_packets: int
    rx_audio: AudioFigures | None  # our audio check of the main received stream
    peer_reports: int  # SR/RR the far end sent
    reports_about_us: int  # of those, report blocks about our SSRC
    tx_loss: float | None  # loss the far end reported for our stream
    tx_audio: AudioFigures | None  # our answer point's audio check of our stream
    own_returned: bool  # our own packets came back (a packet echo)
    far_end: FarEnd = FarEnd.ANY
    digits_sent: str = ""
    digits_received: str = ""
    require_digits: bool = False


class CallJudge:
    """Follows one call from the first INVITE to the verdict (see the module docstring)."""

    def __init__(self, *, duration: float, media_timeout: float) -> None:
        if not (duration > 0 and media_timeout > 0):
            raise LocalProtocolError("duration and media_timeout must be positive")
        self.duration = duration
        self.media_timeout = media_timeout
        self.answered_at: float | None = None
        self.failed: CallFailed | None = None
        self.ended: Verdict | None = None  # set when the media phase ended early
        self.media_end: float | None = None
        self.over = False  # the media phase ran its full duration

    @property
    def media_phase(self) -> bool:
        return self.media_end is not None and self.ended is None and not self.over

    @property
    def done(self) -> bool:
        """The media phase is over (or never began because the call failed)."""
        return self.failed is not None or self.ended is not None or self.over

    def sip_event(self, event: CallEvent) -> None:
        if isinstance(event, CallAnswered) and self.answered_at is None:
            self.answered_at = event.time
        elif isinstance(event, CallFailed) and self.answered_at is None:
            self.failed = self.failed or event
        elif isinstance(event, RemoteHangup) and self.media_phase:
            assert self.answered_at is not None
            at = event.time - self.answered_at
            self.ended = Verdict(CallOutcome.DROPPED,
                                 f"dropped by the far end (its BYE) {at:.1f} s into the call",
                                 dropped_by="far_end", at=at)

    def media_started(self, now: float) -> None:
        """Our media began (after the answer's SDP was read): `duration` from now."""
        if self.answered_at is not None and self.media_end is None and not self.done:
            self.media_end = now + self.duration

    def transport_failed(self, now: float, detail: str) -> None:
        """Our signalling path to the far end broke during the media phase."""
        if self.media_phase:
            assert self.answered_at is not None
            at = now - self.answered_at
            self.ended = Verdict(CallOutcome.DROPPED, f"dropped: {detail} {at:.1f} s into the"
                                 " call", dropped_by="transport", at=at)

    def get_timer(self, last_rx_at: float | None, now: float) -> float | None:
        """When the media phase next needs a look: its end, or media going quiet. Before
        any media arrived, a look every `media_timeout`: the first packet arms no timer."""
        if not self.media_phase:
            return None
        assert self.media_end is not None
        quiet_from = now if last_rx_at is None else last_rx_at
        return min(self.media_end, max(now, quiet_from + self.media_timeout))

    def handle_timer(self, now: float, last_rx_at: float | None) -> None:
        if not self.media_phase:
            return
        assert self.answered_at is not None and self.media_end is not None
        if last_rx_at is not None and last_rx_at + self.media_timeout <= min(now, self.media_end):
            stopped = last_rx_at - self.answered_at
            self.ended = Verdict(
                CallOutcome.MEDIA_STOPPED, f"media stopped: nothing received from the far end"
                f" after {stopped:.1f} s of the call (for {now - last_rx_at:.1f} s), the call"
                " still up", direction=Direction.RX, at=stopped)
        elif now >= self.media_end:
            self.over = True

    def failure(self) -> Verdict | None:
        """The verdict of a call that failed before the answer."""
        f = self.failed
        if f is None:
            return None
        return Verdict(CallOutcome.REJECTED, f.detail)


def _tx_deaf(f: MediaFacts) -> str | None:
    """Why we believe the far end receives nothing of ours, or None."""
    if f.own_returned:
        return None  # our packets made the round trip
    a = f.tx_audio
    if a is not None:
        if a.positions == 0:
            return "the far end (our answer point) reports receiving none of our RTP"
        if a.audible == 0:
            return "the far end (our answer point) receives our RTP, but only silence"
        return None
    if f.tx_loss is not None and f.tx_loss >= 0.99:
        return "the far end reports receiving none of our RTP (its RTCP)"
    if f.reports_about_us == 0 and f.peer_reports >= 2 and f.tx_packets > 0:
        return f"the far end sent {f.peer_reports} RTCP reports, none about our stream"
    return None


def _gaps(a: AudioFigures) -> str:
    return (f"{a.gaps} gap(s) in the audio, the longest {a.longest_gap_seconds * 1000:.0f} ms"
            f" ({a.gap_seconds * 1000:.0f} ms in all)")


def judge(early: Verdict | None, f: MediaFacts) -> Verdict:
    """The verdict of an answered call (see the module docstring); `early` if it ended early."""
    if early is not None and early.outcome is CallOutcome.DROPPED:
        return early
    if early is not None:  # media stopped: which direction, from what we know of tx
        return early
    deaf = _tx_deaf(f)
    rx = f.rx_audio
    if f.rx_packets == 0:
        if deaf is None and (f.reports_about_us > 0 or f.tx_audio is not None):
            return Verdict(CallOutcome.ONE_WAY, "one-way audio: the far end receives ours, but"
                           " we receive no RTP from it", Direction.RX)
        return Verdict(CallOutcome.NO_MEDIA, f"no RTP received from the far end in"
                       f" {f.tx_packets} packet times" + (f"; {deaf}" if deaf else ""))
    if deaf is not None:
        return Verdict(CallOutcome.ONE_WAY, f"one-way audio: {deaf}", Direction.TX)
    if rx is not None and rx.positions and rx.audible == 0:
        return Verdict(CallOutcome.ONE_WAY, f"one-way audio: the far end's RTP carries only"
                       f" silence ({rx.silent} of {rx.positions} frames)", Direction.RX)
    if rx is not None and f.far_end is FarEnd.ANSWER_POINT and rx.looped_back:
        return Verdict(CallOutcome.LOOPED_BACK, f"looped-back media: {rx.ours} of"
                       f" {rx.audible} audible frames were our own signal, not the far end's",
                       Direction.RX)
    if rx is not None and f.far_end is FarEnd.ECHO and rx.audible and rx.ours == 0:
        heard = f.tx_audio is not None and f.tx_audio.audible > 0
        if heard or (f.tx_loss is not None and f.tx_loss < 0.99):
            return Verdict(CallOutcome.UNEXPECTED_AUDIO, "expected an echo of our signal, but"
                           f" the far end sends its own ({rx.signal.value} signal) while it"
                           " receives ours: not an echo (a wrong destination?)", Direction.RX)
        return Verdict(CallOutcome.ONE_WAY, "the echo sends audio, but none of it is our"
                       f" signal ({rx.signal.value}): our audio does not reach it", Direction.TX)
    if rx is not None and rx.gaps:
        return Verdict(CallOutcome.AUDIO_GAPS, f"audio gaps (received): {_gaps(rx)}",
                       Direction.RX)
    if f.tx_audio is not None and f.tx_audio.gaps:
        return Verdict(CallOutcome.AUDIO_GAPS, f"audio gaps (at the far end):"
                       f" {_gaps(f.tx_audio)}", Direction.TX)
    if f.require_digits and f.digits_received != f.digits_sent:
        return Verdict(CallOutcome.DTMF_FAILED, f"DTMF: sent {f.digits_sent!r}, received"
                       f" {f.digits_received or 'nothing'!r} back")
    return Verdict(CallOutcome.ANSWERED, "media both ways")

