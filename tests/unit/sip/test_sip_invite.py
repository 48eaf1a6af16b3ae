"""RFC 3261 §17.1.1 INVITE client transaction: Timers A, B, D on a fake clock, ACK for non-2xx."""

from __future__ import annotations

import pytest

from probes.errors import LocalProtocolError
from probes.sip.invite import InviteClientTransaction, InviteState, build_non2xx_ack
from probes.sip.message import Headers, Request, Response, make_branch, parse_message
from probes.sip.transaction import ResponseReceived, TransactionTimedOut
from probes.sip.uas import build_response
from tests.unit.sip.fakeclock import fire


def invite(branch: str | None = None) -> Request:
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP 127.0.0.1:5099;rport;branch={branch or make_branch()}")
    headers.add("Route", "<sip:p1.example.net;lr>")
    headers.add("Max-Forwards", 70)
    headers.add("From", "<sip:monitord@example.net>;tag=abc")
    headers.add("To", "<sip:bob@example.net>")
    headers.add("Call-ID", "call-1")
    headers.add("CSeq", "7 INVITE")
    headers.add("Contact", "<sip:monitord@127.0.0.1:5099>")
    headers.add("Content-Type", "application/sdp")
    return Request("INVITE", "sip:bob@example.net", headers, b"v=0\r\n")


def test_timer_a_doubles_from_t1_and_timer_b_fires_at_64_t1() -> None:
    txn = InviteClientTransaction(invite(), reliable=False, now=0.0)
    assert txn.data_to_send() == [txn.request.serialize()] and txn.transmissions == 1
    fired = []
    while txn.state is InviteState.CALLING:
        fired.append(fire(txn))
        if txn.state is InviteState.CALLING:
            assert txn.data_to_send() == [txn.request.serialize()]
    # §17.1.1.2: A at T1, then 2*T1, 4*T1 ... with no T2 cap; B at 64*T1 = 32 s.
    assert fired == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 32.0]
    assert txn.state is InviteState.TERMINATED and txn.transmissions == 7
    event = txn.next_event()
    assert isinstance(event, TransactionTimedOut) and (event.time, event.transmissions) == (32.0, 7)
    assert txn.get_timer() is None and txn.next_event() is None and txn.data_to_send() == []


def test_provisional_stops_timer_a_and_proceeding_has_no_timer_b() -> None:
    req = invite()
    txn = InviteClientTransaction(req, reliable=False, now=0.0)
    txn.data_to_send()
    assert fire(txn) == 0.5
    txn.receive_response(build_response(req, 100, "Trying"), now=0.7)
    assert txn.state is InviteState.PROCEEDING
    event = txn.next_event()
    assert isinstance(event, ResponseReceived) and event.response.status == 100
    # No retransmissions and no Timer B any more: the TU's CANCEL ends Proceeding.
    assert txn.get_timer() is None
    txn.receive_response(build_response(req, 180, "Ringing", to_tag="t1"), now=1.0)
    assert isinstance(txn.next_event(), ResponseReceived)
    assert txn.transmissions == 2 and txn.data_to_send() == [req.serialize()]


def test_2xx_terminates_and_is_passed_up_without_ack() -> None:
    req = invite()
    txn = InviteClientTransaction(req, reliable=False, now=0.0)
    txn.data_to_send()
    ok = build_response(req, 200, "OK", to_tag="callee")
    txn.receive_response(ok, now=0.2)
    assert txn.state is InviteState.TERMINATED and txn.get_timer() is None
    event = txn.next_event()
    assert isinstance(event, ResponseReceived) and event.final
    # §13.2.2.4: the ACK for a 2xx belongs to the TU, not the transaction.
    assert txn.data_to_send() == [] and txn.ack is None
    txn.receive_response(ok, now=0.3)
    assert txn.next_event() is None


def test_non2xx_is_acked_in_the_transaction_and_timer_d_absorbs_retransmissions() -> None:
    req = invite()
    txn = InviteClientTransaction(req, reliable=False, now=10.0)
    txn.data_to_send()
    busy = build_response(req, 486, "Busy Here", to_tag="callee")
    txn.receive_response(busy, now=10.3)
    assert txn.state is InviteState.COMPLETED
    event = txn.next_event()
    assert isinstance(event, ResponseReceived) and event.response.status == 486
    [ack_wire] = txn.data_to_send()
    ack = parse_message(ack_wire)
    assert isinstance(ack, Request) and ack.method == "ACK"
    # §17.1.1.3: same branch (single Via = top Via of the INVITE), Request-URI,
    # Call-ID, From; To from the response (with its tag); CSeq number, method ACK.
    assert ack.vias == [req.vias[0]]
    assert ack.uri == req.uri and ack.cseq == (7, "ACK")
    assert ack.headers.get("To") == "<sip:bob@example.net>;tag=callee"
    assert ack.headers.get("From") == req.headers.get("From")
    assert ack.headers.get("Call-ID") == "call-1"
    assert ack.headers.get_all("Route") == ["<sip:p1.example.net;lr>"]
    assert ack.body == b""
    # Retransmitted 486: ACK again, nothing for the TU.
    txn.receive_response(busy, now=11.0)
    assert txn.next_event() is None and txn.data_to_send() == [ack_wire]
    # Timer D: at least 32 s on UDP.
    assert txn.get_timer() == pytest.approx(42.3)
    txn.handle_timer(42.0)
    assert txn.state is InviteState.COMPLETED
    fire(txn)
    assert txn.state is InviteState.TERMINATED and txn.get_timer() is None


def test_reliable_transport_sends_once_and_timer_d_is_zero() -> None:
    req = invite()
    txn = InviteClientTransaction(req, reliable=True, now=0.0, t1=0.1)
    assert len(txn.data_to_send()) == 1
    assert txn.get_timer() == pytest.approx(6.4)  # only Timer B
    txn.receive_response(build_response(req, 603, "Decline", to_tag="x"), now=1.0)
    # §17.1.1.2: the ACK is generated "even if the transport is reliable".
    assert [parse_message(d).cseq for d in txn.data_to_send()] == [(7, "ACK")]
    assert txn.state is InviteState.TERMINATED and txn.get_timer() is None


def test_reliable_timeout_is_timer_b_after_one_transmission() -> None:
    txn = InviteClientTransaction(invite(), reliable=True, now=5.0)
    txn.data_to_send()
    assert fire(txn) == 37.0
    event = txn.next_event()
    assert isinstance(event, TransactionTimedOut) and event.transmissions == 1


def test_misuse_raises_local_protocol_error() -> None:
    req = invite()
    options = Request("OPTIONS", "sip:x", req.headers.copy())
    with pytest.raises(LocalProtocolError, match="OPTIONS cannot use"):
        InviteClientTransaction(options, reliable=False, now=0)
    with pytest.raises(LocalProtocolError, match="z9hG4bK"):
        InviteClientTransaction(invite(branch="old"), reliable=False, now=0)
    with pytest.raises(LocalProtocolError, match="T1"):
        InviteClientTransaction(req, reliable=False, now=0, t1=0)
    txn = InviteClientTransaction(req, reliable=False, now=0)
    with pytest.raises(LocalProtocolError, match="branch does not match"):
        txn.receive_response(build_response(invite(), 200, "OK"), now=1)
    wrong = build_response(req, 200, "OK")
    wrong.headers.set("CSeq", "7 CANCEL")
    with pytest.raises(LocalProtocolError, match="CSeq method"):
        txn.receive_response(wrong, now=1)
    with pytest.raises(LocalProtocolError, match="no Via"):
        build_non2xx_ack(Request("INVITE", "sip:x", Headers()), Response(486, "Busy"))


def test_tu_can_terminate_after_cancel_timeout() -> None:
    req = invite()
    txn = InviteClientTransaction(req, reliable=False, now=0.0)
    txn.receive_response(build_response(req, 180, "Ringing", to_tag="t"), now=0.1)
    txn.terminate()
    assert txn.state is InviteState.TERMINATED and txn.get_timer() is None
    txn.receive_response(build_response(req, 487, "Request Terminated", to_tag="t"), now=1)
    txn.next_event()
    assert txn.next_event() is None
