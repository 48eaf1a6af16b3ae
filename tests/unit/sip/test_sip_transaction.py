"""RFC 3261 §17.1.2 timers, stepped on a fake clock; and two pure cores talking."""

from __future__ import annotations

import itertools

import pytest

from probes.errors import LocalProtocolError
from probes.sip.message import Headers, Request, Response, make_branch, parse_message
from probes.sip.transaction import (
    NonInviteClientTransaction,
    ResponseReceived,
    TransactionState,
    TransactionTimedOut,
)
from probes.sip.uas import answer, build_response
from tests.unit.sip.fakeclock import fire


def options(branch: str | None = None) -> Request:
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP 127.0.0.1:5099;rport;branch={branch or make_branch()}")
    headers.add("Max-Forwards", 70)
    headers.add("From", "<sip:monitord@127.0.0.1>;tag=abc")
    headers.add("To", "<sip:pbx@127.0.0.1>")
    headers.add("Call-ID", "call-1")
    headers.add("CSeq", "1 OPTIONS")
    return Request("OPTIONS", "sip:pbx@127.0.0.1", headers)


def test_timer_e_doubles_up_to_t2_then_timer_f_at_64_t1() -> None:
    txn = NonInviteClientTransaction(options(), reliable=False, now=0.0)
    assert len(txn.data_to_send()) == 1 and txn.transmissions == 1
    fired = []
    while txn.state is TransactionState.TRYING:
        fired.append(fire(txn))
        if txn.state is TransactionState.TRYING:
            assert len(txn.data_to_send()) == 1
    # E at 0.5, then intervals 1, 2, 4, 4, 4 ... (capped at T2), F at 64*T1 = 32 s.
    assert fired[:5] == [0.5, 1.5, 3.5, 7.5, 11.5]
    assert fired[-1] == 32.0
    assert all(b - a == 4.0 for a, b in itertools.pairwise(fired[3:-1]))
    assert txn.state is TransactionState.TERMINATED
    assert txn.data_to_send() == []
    event = txn.next_event()
    assert isinstance(event, TransactionTimedOut)
    assert (event.time, event.transmissions) == (32.0, 11)
    assert txn.get_timer() is None and txn.next_event() is None


def test_proceeding_retransmits_every_t2() -> None:
    req = options()
    txn = NonInviteClientTransaction(req, reliable=False, now=0.0)
    txn.data_to_send()
    assert fire(txn) == 0.5
    txn.receive_response(build_response(req, 100, "Trying"), now=0.6)
    assert txn.state is TransactionState.PROCEEDING
    event = txn.next_event()
    assert isinstance(event, ResponseReceived) and not event.final
    assert fire(txn) == 1.5  # the armed E still fires...
    assert fire(txn) == 5.5  # ...then every T2 (§17.1.2.2)
    assert fire(txn) == 9.5
    assert len(txn.data_to_send()) == 4
    txn.receive_response(build_response(req, 180, "Ringing"), now=10.0)
    assert txn.state is TransactionState.PROCEEDING
    assert isinstance(txn.next_event(), ResponseReceived)


def test_final_response_then_timer_k_absorbs_retransmissions() -> None:
    req = options()
    txn = NonInviteClientTransaction(req, reliable=False, now=10.0, t4=5.0)
    ok = build_response(req, 200, "OK")
    txn.receive_response(ok, now=10.2)
    assert txn.state is TransactionState.COMPLETED
    event = txn.next_event()
    assert isinstance(event, ResponseReceived) and event.final and event.time == 10.2
    txn.receive_response(ok, now=10.3)  # retransmitted 200: absorbed
    assert txn.next_event() is None
    assert txn.get_timer() == pytest.approx(15.2)  # Timer K = T4, no E or F any more
    txn.handle_timer(15.0)
    assert txn.state is TransactionState.COMPLETED
    fire(txn)
    assert (txn.state, txn.get_timer()) == (TransactionState.TERMINATED, None)


def test_reliable_transport_never_retransmits_and_k_is_zero() -> None:
    req = options()
    txn = NonInviteClientTransaction(req, reliable=True, now=0.0)
    assert len(txn.data_to_send()) == 1
    assert txn.get_timer() == 32.0  # only Timer F
    txn.receive_response(build_response(req, 503, "Service Unavailable"), now=1.0)
    assert txn.state is TransactionState.TERMINATED
    assert txn.transmissions == 1 and txn.get_timer() is None


def test_reliable_timeout_is_one_transmission() -> None:
    txn = NonInviteClientTransaction(options(), reliable=True, now=0.0, t1=0.1)
    txn.data_to_send()
    assert fire(txn) == pytest.approx(6.4)
    event = txn.next_event()
    assert isinstance(event, TransactionTimedOut) and event.transmissions == 1


def test_custom_t1_t2() -> None:
    txn = NonInviteClientTransaction(options(), reliable=False, now=0.0, t1=0.1, t2=0.3)
    assert [fire(txn) for _ in range(4)] == pytest.approx([0.1, 0.3, 0.6, 0.9])


def test_misuse_raises_local_protocol_error() -> None:
    req = options()
    invite = Request("INVITE", "sip:x", req.headers.copy())
    with pytest.raises(LocalProtocolError, match="INVITE cannot use"):
        NonInviteClientTransaction(invite, reliable=False, now=0)
    old = options(branch="1234")
    with pytest.raises(LocalProtocolError, match="z9hG4bK"):
        NonInviteClientTransaction(old, reliable=False, now=0)
    txn = NonInviteClientTransaction(req, reliable=False, now=0)
    with pytest.raises(LocalProtocolError, match="branch does not match"):
        txn.receive_response(build_response(options(), 200, "OK"), now=1)
    with pytest.raises(LocalProtocolError, match="branch does not match"):
        txn.receive_response(Response(200, "OK", Headers([("CSeq", "1 OPTIONS")])), now=1)


class Wire:
    """Delivers datagrams between the client core and the responder core, optionally lossy."""

    def __init__(self, drop_requests: int = 0) -> None:
        self.drop_requests = drop_requests
        self.seen = 0

    def transfer(self, txn: NonInviteClientTransaction, now: float) -> None:
        for data in txn.data_to_send():
            self.seen += 1
            if self.seen <= self.drop_requests:
                continue
            request = parse_message(data)
            assert isinstance(request, Request)
            response = answer(request, source=("127.0.0.1", 5099))
            assert response is not None
            txn.receive_response(parse_message(response.serialize()), now)  # type: ignore[arg-type]


def test_client_and_responder_cores_without_sockets() -> None:
    txn = NonInviteClientTransaction(options(), reliable=False, now=0.0)
    Wire().transfer(txn, now=0.01)
    event = txn.next_event()
    assert isinstance(event, ResponseReceived)
    response = event.response
    assert (response.status, response.reason) == (200, "OK")
    assert response.headers.get("Call-ID") == "call-1"
    assert ";tag=" in (response.headers.get("To") or "")
    assert response.top_via.param("rport") == "5099"
    # RFC 3581 §4: with rport, received is added "even if it is identical" to sent-by.
    assert response.top_via.param("received") == "127.0.0.1"
    assert "OPTIONS" in (response.headers.get("Allow") or "")


def test_lost_requests_are_recovered_by_retransmission() -> None:
    wire = Wire(drop_requests=2)
    txn = NonInviteClientTransaction(options(), reliable=False, now=0.0)
    wire.transfer(txn, now=0.0)
    now = 0.0
    while txn.state is TransactionState.TRYING:
        now = fire(txn)
        wire.transfer(txn, now)
    assert now == 1.5 and txn.transmissions == 3
    assert txn.state is TransactionState.COMPLETED


def test_responder_core_answers_other_methods_with_501_and_absorbs_ack() -> None:
    req = options()
    bye = Request("BYE", "sip:x", req.headers.copy())
    bye.headers.set("CSeq", "2 BYE")
    response = answer(bye)
    assert response is not None and response.status == 501
    ack = Request("ACK", "sip:x", req.headers.copy())
    assert answer(ack) is None


def test_responder_core_honours_rport_and_received() -> None:
    from probes.sip.uas import response_destination

    req = options()
    req.headers.set("Via", "SIP/2.0/UDP 10.1.1.1:5070;rport;branch=z9hG4bKa")
    response = answer(req, source=("192.0.2.7", 40000))
    assert response is not None
    assert response.top_via.param("received") == "192.0.2.7"
    assert response.top_via.param("rport") == "40000"
    assert response_destination(req.top_via, ("192.0.2.7", 40000)) == ("192.0.2.7", 40000)
    req.headers.set("Via", "SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bKa")
    plain = answer(req, source=("192.0.2.7", 40000))
    assert plain is not None and plain.top_via.param("received") == "192.0.2.7"
    # §18.2.2: without rport, the received address with the sent-by port.
    assert response_destination(plain.top_via, ("192.0.2.7", 40000)) == ("192.0.2.7", 5070)


def test_response_with_wrong_method_is_rejected() -> None:
    req = options()
    txn = NonInviteClientTransaction(req, reliable=False, now=0)
    wrong = build_response(req, 200, "OK")
    wrong.headers.set("CSeq", "1 REGISTER")
    with pytest.raises(LocalProtocolError, match="CSeq method"):
        txn.receive_response(wrong, now=1)
    assert isinstance(Response(200, "OK"), Response)
