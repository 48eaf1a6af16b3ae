"""Two call cores wired together with no sockets (h11's ConnectionPair, aioquic's transfer()).

Every message crosses as bytes and is parsed again, the fake clock only moves
to the next timer either core asks for, and an optional record-routing
"proxy" and a drop filter stand in for the network between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from probes.sip.call import CallEvent, CallSettings
from probes.sip.core import earliest, fire_if_due
from probes.sip.dialog import UacDialog
from probes.sip.message import Headers, Request, Response, parse_message
from probes.sip.uas_dialog import AnswerPlan, UasDialog, UasEvent
from probes.sip.uri import SipUri

OFFER = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
ANSWER = b"v=0\r\no=- 2 2 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n"


def settings(**overrides: object) -> CallSettings:
    values: dict[str, object] = {
        "target": SipUri.parse("sip:echo@192.0.2.2"), "local_host": "192.0.2.1",
        "local_port": 5099, "answer_timeout": 20.0,
    }
    values.update(overrides)
    return CallSettings(**values)  # type: ignore[arg-type]


@dataclass
class Hop:
    time: float
    direction: str  # "A>B" or "B>A"
    message: Request | Response
    uri: str | None

    @property
    def line(self) -> str:
        m = self.message
        return f"{m.method} {m.cseq[0]}" if isinstance(m, Request) else f"{m.status} {m.cseq[1]}"


@dataclass
class CallPair:
    uac: UacDialog
    uas: UasDialog
    now: float = 0.0
    record_route: tuple[str, ...] = ()  # proxies on the path, nearest the caller first
    drop: Callable[[Hop], bool] = lambda hop: False
    log: list[Hop] = field(default_factory=list)

    @classmethod
    def make(cls, plan: AnswerPlan | None = None, **kwargs: object) -> CallPair:
        pair_args = {k: kwargs.pop(k) for k in ("record_route", "drop") if k in kwargs}
        uac = UacDialog(settings(**kwargs), sdp_offer=OFFER, now=0.0)
        uas = UasDialog(plan or AnswerPlan(sdp_answer=ANSWER, ring_seconds=2.0),
                        local_host="192.0.2.2", local_port=5060)
        return cls(uac, uas, **pair_args)  # type: ignore[arg-type]

    def transfer(self) -> bool:
        moved = False
        for out in self.uac.data_to_send():
            message = parse_message(out.data)
            if isinstance(message, Request) and message.method == "INVITE" and self.record_route:
                # Each proxy puts its Record-Route on top (§16.6 step 4).
                rows = [("Record-Route", f"<{uri}>") for uri in reversed(self.record_route)]
                message.headers = Headers([*rows, *message.headers])
            hop = Hop(self.now, "A>B", message, out.uri)
            self.log.append(hop)
            moved = True
            if not self.drop(hop):
                self.uas.receive_data(message.serialize(), self.now)
        for out in self.uas.data_to_send():
            hop = Hop(self.now, "B>A", parse_message(out.data), out.uri)
            self.log.append(hop)
            moved = True
            if not self.drop(hop):
                self.uac.receive_data(out.data, self.now)
        return moved

    def run(self, until: float = 300.0, stop: Callable[[CallPair], bool] | None = None) -> None:
        """Shuttle bytes, then jump to the next timer; until `stop` holds or time runs out."""
        for _ in range(10_000):
            while self.transfer():
                pass
            if stop is not None and stop(self):
                return
            due = earliest(self.uac.get_timer(), self.uas.get_timer())
            if due is None or due > until:
                self.now = until
                return
            self.now = max(self.now, due)
            for core in (self.uac, self.uas):
                fire_if_due(core, self.now)
        raise AssertionError("call pair did not settle")

    def uac_events(self) -> list[CallEvent]:
        out = []
        while (event := self.uac.next_event()) is not None:
            out.append(event)
        return out

    def uas_events(self) -> list[UasEvent]:
        out = []
        while (event := self.uas.next_event()) is not None:
            out.append(event)
        return out

    def lines(self, direction: str | None = None) -> list[str]:
        return [h.line for h in self.log if direction in (None, h.direction)]
