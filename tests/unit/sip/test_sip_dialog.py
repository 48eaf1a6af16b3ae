"""Whole calls between the UAC and UAS cores, no sockets: RFC 3261 §12-§15, §9, §22."""

from __future__ import annotations

import pytest
from callpair import ANSWER, OFFER, CallPair, Hop, settings

from probes.errors import LocalProtocolError
from probes.sip.call import (
    AuthChallenged,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallState,
    EarlyMedia,
    FailureCause,
    Provisional,
    RemoteHangup,
)
from probes.sip.dialog import UacDialog
from probes.sip.digest import Credentials, parse_auth_params
from probes.sip.message import Headers, Request, Response
from probes.sip.uas_dialog import (
    AckReceived,
    AnswerPlan,
    ByeReceived,
    CancelReceived,
    ChallengeSent,
    InviteReceived,
    UasState,
)

ALICE = Credentials("alice", "wonderland")


def answered(pair: CallPair) -> bool:
    return pair.uac.state is CallState.CONFIRMED and pair.uas.state is UasState.CONFIRMED


def over(pair: CallPair) -> bool:
    return pair.uac.state is CallState.TERMINATED


def requests(pair: CallPair, method: str) -> list[Request]:
    return [h.message for h in pair.log
            if isinstance(h.message, Request) and h.message.method == method]


def test_invite_100_180_200_ack_bye_200() -> None:
    pair = CallPair.make()
    pair.run(stop=answered)
    assert pair.now == 2.0  # ring_seconds
    assert pair.lines() == ["INVITE 1", "100 INVITE", "180 INVITE", "200 INVITE", "ACK 1"]
    events = pair.uac_events()
    assert [type(e) for e in events] == [Provisional, Provisional, CallAnswered]
    answer = events[-1]
    assert isinstance(answer, CallAnswered) and answer.sdp == ANSWER and answer.time == 2.0
    uas_events = pair.uas_events()
    assert [type(e) for e in uas_events] == [InviteReceived, AckReceived]
    assert isinstance(uas_events[0], InviteReceived) and uas_events[0].request.body == OFFER

    [invite] = requests(pair, "INVITE")
    assert invite.headers.get("Content-Type") == "application/sdp"
    assert invite.headers.get("Max-Forwards") == "70"
    assert invite.headers.get("Contact") == "<sip:monitord@192.0.2.1:5099>"
    assert ";tag=" in (invite.headers.get("From") or "")
    [ack] = requests(pair, "ACK")
    # §13.2.2.4: the 2xx ACK is a new transaction (new branch), same CSeq number,
    # sent to the remote target (the callee's Contact) with the callee's To tag.
    assert ack.top_via.branch != invite.top_via.branch
    assert ack.cseq == (1, "ACK") and ack.uri == "sip:answer@192.0.2.2:5060"
    assert ack.headers.get("To", ) == f"<sip:echo@192.0.2.2>;tag={pair.uas.local_tag}"
    assert pair.uac.dialog is not None and pair.uac.dialog.remote.tag == pair.uas.local_tag

    pair.now = 12.0
    pair.uac.hangup(pair.now)
    pair.run(stop=over)
    assert pair.lines()[-2:] == ["BYE 2", "200 BYE"]  # §12.2.1.1: local CSeq + 1
    assert pair.uac_events() == [CallEnded(200, 12.0)]
    assert [type(e) for e in pair.uas_events()] == [ByeReceived]
    assert pair.uas.state is UasState.TERMINATED
    pair.run()
    assert pair.uac.done and pair.uac.get_timer() is None


@pytest.mark.parametrize(("proxy", "algorithm"), [(False, "MD5"), (True, "SHA-256")])
def test_challenge_then_authenticated_invite_with_cseq_plus_one(proxy: bool, algorithm: str) -> None:
    plan = AnswerPlan(sdp_answer=ANSWER, credentials=ALICE, proxy_auth=proxy, algorithm=algorithm,
                      realm="voip.example")
    pair = CallPair.make(plan, credentials=ALICE)
    pair.run(stop=answered)
    code = "407" if proxy else "401"
    assert pair.lines() == ["INVITE 1", f"{code} INVITE", "ACK 1", "INVITE 2", "100 INVITE",
                            "180 INVITE", "200 INVITE", "ACK 2"]
    first, second = requests(pair, "INVITE")
    header = "Proxy-Authorization" if proxy else "Authorization"
    # §22.2: same Call-ID and From tag, a new transaction (branch), CSeq + 1.
    assert first.headers.get("Call-ID") == second.headers.get("Call-ID")
    assert first.headers.get("From") == second.headers.get("From")
    assert first.top_via.branch != second.top_via.branch
    assert header not in first.headers
    params = parse_auth_params(second.headers.get(header) or "")[1]
    assert (params["username"], params["realm"], params["algorithm"]) == ("alice", "voip.example",
                                                                         algorithm)
    assert params["uri"] == second.uri and params["nc"] == "00000001"
    acks = requests(pair, "ACK")
    # The non-2xx ACK reuses the INVITE's branch (§17.1.1.3); the 2xx ACK carries
    # the same credentials as its INVITE (§13.2.2.4).
    assert acks[0].top_via.branch == first.top_via.branch
    assert acks[1].headers.get(header) == second.headers.get(header)
    events = pair.uac_events()
    challenged = [e for e in events if isinstance(e, AuthChallenged)]
    assert len(challenged) == 1 and challenged[0].status == int(code)
    assert challenged[0].algorithm == algorithm
    assert isinstance(events[-1], CallAnswered)
    assert [type(e) for e in pair.uas_events()] == [ChallengeSent, InviteReceived, AckReceived]


def test_wrong_password_is_auth_rejected() -> None:
    plan = AnswerPlan(sdp_answer=ANSWER, credentials=ALICE)
    pair = CallPair.make(plan, credentials=Credentials("alice", "guess"))
    pair.run(stop=over)
    assert pair.lines() == ["INVITE 1", "401 INVITE", "ACK 1", "INVITE 2", "401 INVITE", "ACK 2"]
    failed = pair.uac_events()[-1]
    assert isinstance(failed, CallFailed)
    assert (failed.cause, failed.status) == (FailureCause.AUTH_REJECTED, 401)
    assert "guess" not in repr(pair.uac.settings)


def test_no_credentials_is_auth_rejected_at_once() -> None:
    pair = CallPair.make(AnswerPlan(credentials=ALICE))
    pair.run(stop=over)
    assert pair.lines() == ["INVITE 1", "401 INVITE", "ACK 1"]
    failed = pair.uac_events()[-1]
    assert isinstance(failed, CallFailed) and failed.cause is FailureCause.AUTH_REJECTED
    assert "no credentials" in failed.detail


def test_stale_nonce_is_retried_with_the_new_nonce() -> None:
    plan = AnswerPlan(sdp_answer=ANSWER, credentials=ALICE, stale_once=True)
    pair = CallPair.make(plan, credentials=ALICE)
    pair.run(stop=answered)
    invites = requests(pair, "INVITE")
    assert [i.cseq[0] for i in invites] == [1, 2, 3]
    nonces = [parse_auth_params(i.headers.get("Authorization") or "")[1] for i in invites[1:]]
    # RFC 7616 §3.3 stale=true: same credentials, fresh nonce, nc back to 1.
    assert nonces[0]["nonce"] != nonces[1]["nonce"]
    assert [n["nc"] for n in nonces] == ["00000001", "00000001"]
    stale = [e for e in pair.uac_events() if isinstance(e, AuthChallenged)]
    assert [e.stale for e in stale] == [False, True]


@pytest.mark.parametrize(("status", "cause"), [(486, FailureCause.BUSY),
                                               (600, FailureCause.BUSY),
                                               (503, FailureCause.REJECTED),
                                               (404, FailureCause.REJECTED)])
def test_error_answer_is_acked_in_the_transaction(status: int, cause: FailureCause) -> None:
    pair = CallPair.make(AnswerPlan(status=status, ring_seconds=1.0))
    pair.run(stop=over)
    assert pair.lines() == ["INVITE 1", "100 INVITE", "180 INVITE", f"{status} INVITE", "ACK 1"]
    [invite] = requests(pair, "INVITE")
    [ack] = requests(pair, "ACK")
    assert ack.top_via.branch == invite.top_via.branch and ack.uri == invite.uri
    failed = pair.uac_events()[-1]
    assert isinstance(failed, CallFailed) and (failed.cause, failed.status) == (cause, status)
    assert failed.time == 1.0
    pair.run()  # Timer D runs out, nothing else is sent
    assert pair.lines()[-1] == "ACK 1" and pair.uac.done


def test_no_answer_cancels_at_answer_timeout_then_487_and_ack() -> None:
    pair = CallPair.make(AnswerPlan(answer=False), answer_timeout=8.0)
    pair.run(stop=over)
    assert pair.lines() == ["INVITE 1", "100 INVITE", "180 INVITE", "CANCEL 1", "200 CANCEL",
                            "487 INVITE", "ACK 1"]
    [invite] = requests(pair, "INVITE")
    [cancel] = requests(pair, "CANCEL")
    # §9.1: same branch, Request-URI, Call-ID, From, To and CSeq number; method CANCEL.
    assert cancel.vias == [invite.vias[0]] and cancel.uri == invite.uri
    for name in ("Call-ID", "From", "To"):
        assert cancel.headers.get(name) == invite.headers.get(name)
    assert cancel.cseq == (1, "CANCEL")
    assert [h.time for h in pair.log if h.line == "CANCEL 1"] == [8.0]
    failed = pair.uac_events()[-1]
    assert isinstance(failed, CallFailed)
    assert (failed.cause, failed.status, failed.time) == (FailureCause.NO_ANSWER, 487, 8.0)
    assert CancelReceived(8.0) in pair.uas_events()


def test_no_487_after_cancel_gives_up_after_64_t1() -> None:
    def drop_487(hop: Hop) -> bool:
        return isinstance(hop.message, Response) and hop.message.status == 487

    pair = CallPair.make(AnswerPlan(answer=False), answer_timeout=5.0, drop=drop_487)
    pair.run(stop=over)
    failed = pair.uac_events()[-1]
    assert isinstance(failed, CallFailed) and failed.cause is FailureCause.NO_ANSWER
    assert (failed.status, failed.time) == (None, 5.0 + 32.0)


def test_far_end_bye_mid_call_is_a_remote_hangup() -> None:
    pair = CallPair.make()
    pair.run(stop=answered)
    pair.uac_events()
    pair.uas_events()
    pair.now = 30.0
    pair.uas.hangup(pair.now)
    pair.run(stop=lambda p: p.uas.state is UasState.TERMINATED)
    assert pair.lines()[-2:] == ["BYE 1", "200 BYE"]
    [event] = pair.uac_events()
    assert isinstance(event, RemoteHangup) and event.time == 30.0
    assert pair.uac.state is CallState.TERMINATED
    assert pair.uas_events() == [CallEnded(200, 30.0)]
    with pytest.raises(LocalProtocolError):
        pair.uac.hangup(pair.now)


def test_record_route_set_is_applied_to_ack_and_bye_both_ways() -> None:
    proxies = ("sip:p1.example.net;lr", "sip:p2.example.net;lr")
    pair = CallPair.make(record_route=proxies)
    pair.run(stop=answered)
    [ack] = requests(pair, "ACK")
    # §12.1.2: the UAC's route set is the 2xx Record-Route reversed: p1 first.
    assert ack.headers.get_all("Route") == ["<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"]
    assert ack.uri == "sip:answer@192.0.2.2:5060"  # loose routing keeps the remote target
    ack_hop = next(h for h in pair.log if h.line == "ACK 1")
    assert ack_hop.uri == "sip:p1.example.net;lr"  # §8.1.2: sent to the first route
    pair.uac.hangup(pair.now)
    pair.run(stop=over)
    bye_hop = next(h for h in pair.log if h.line == "BYE 2")
    assert isinstance(bye_hop.message, Request) and bye_hop.uri == "sip:p1.example.net;lr"
    assert bye_hop.message.headers.get_all("Route") == ack.headers.get_all("Route")
    # §12.1.1: the UAS keeps them in order, so its requests go via p2 first.
    assert pair.uas.dialog is not None
    assert pair.uas.dialog.route_set == ("<sip:p2.example.net;lr>", "<sip:p1.example.net;lr>")


def test_strict_router_goes_into_the_request_uri() -> None:
    pair = CallPair.make(record_route=("sip:old.example.net",))
    pair.run(stop=answered)
    [ack] = requests(pair, "ACK")
    # §12.2.1.1: first route without lr becomes the Request-URI, the remote target the last Route.
    assert ack.uri == "sip:old.example.net"
    assert ack.headers.get_all("Route") == ["<sip:answer@192.0.2.2:5060>"]


def test_early_media_183_surfaces_the_sdp() -> None:
    early = b"v=0\r\ns=early\r\n"
    pair = CallPair.make(AnswerPlan(sdp_answer=ANSWER, early_media=early, ring_seconds=3.0))
    pair.run(stop=answered)
    events = pair.uac_events()
    media = [e for e in events if isinstance(e, EarlyMedia)]
    assert media == [EarlyMedia(183, early, 0.0)]
    assert pair.lines()[:4] == ["INVITE 1", "100 INVITE", "183 INVITE", "180 INVITE"]
    assert pair.uac.dialog is not None and pair.uac.dialog.confirmed


def test_lost_invite_and_lost_200_are_recovered_by_retransmission() -> None:
    lost: set[str] = set()

    def lose_first(hop: Hop) -> bool:
        if hop.line in ("INVITE 1", "200 INVITE") and hop.line not in lost:
            lost.add(hop.line)
            return True
        return False

    pair = CallPair.make(AnswerPlan(sdp_answer=ANSWER), drop=lose_first)
    pair.run(stop=answered)
    # INVITE lost, Timer A re-sends it at T1; the 200 is lost, the UAS re-sends
    # it at T1 (§13.3.1.4) and the UAC ACKs that one.
    assert pair.lines() == ["INVITE 1", "INVITE 1", "100 INVITE", "180 INVITE", "200 INVITE",
                            "200 INVITE", "ACK 1"]
    assert [h.time for h in pair.log] == [0.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]
    assert len([e for e in pair.uac_events() if isinstance(e, CallAnswered)]) == 1


def test_retransmitted_200_after_ack_gets_the_same_ack_again() -> None:
    pair = CallPair.make(AnswerPlan(sdp_answer=ANSWER))
    pair.run(stop=answered)
    pair.uac_events()
    ok = next(h.message for h in pair.log if h.line == "200 INVITE")
    pair.uac.receive_message(ok, pair.now + 1)
    [again] = pair.uac.data_to_send()
    assert again.data == requests(pair, "ACK")[0].serialize()
    assert pair.uac_events() == []


def test_silent_far_end_is_timer_b() -> None:
    pair = CallPair.make(drop=lambda hop: hop.direction == "A>B")
    pair.run(stop=over)
    failed = pair.uac_events()[-1]
    assert isinstance(failed, CallFailed)
    assert (failed.cause, failed.time) == (FailureCause.TIMEOUT, 32.0)
    assert len(requests(pair, "INVITE")) == 7  # 0, .5, 1.5, 3.5, 7.5, 15.5, 31.5


def test_requests_outside_the_dialog_get_481() -> None:
    uac = UacDialog(settings(), sdp_offer=OFFER, now=0.0)
    uac.data_to_send()
    headers = Headers([("Via", "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKx"), ("From", "<sip:x@y>;tag=1"),
                       ("To", "<sip:a@b>;tag=2"), ("Call-ID", "other"), ("CSeq", "1 BYE")])
    uac.receive_message(Request("BYE", "sip:a@b", headers), 1.0)
    [out] = uac.data_to_send()
    assert out.uri is None and out.data.startswith(b"SIP/2.0 481 ")
    assert uac.next_event() is None


def test_tcp_sends_once_and_contact_says_so() -> None:
    pair = CallPair.make(AnswerPlan(sdp_answer=ANSWER), transport="tcp")
    pair.run(stop=answered)
    [invite] = requests(pair, "INVITE")
    assert invite.top_via.transport == "TCP"
    assert invite.headers.get("Contact") == "<sip:monitord@192.0.2.1:5099;transport=tcp>"


def test_answer_crossing_our_cancel_is_acked_then_byed() -> None:
    def lose_cancel(hop: Hop) -> bool:
        return hop.line == "CANCEL 1"

    pair = CallPair.make(AnswerPlan(sdp_answer=ANSWER, ring_seconds=2.0), answer_timeout=1.0,
                         drop=lose_cancel)
    pair.run(stop=lambda p: p.uas.state is UasState.TERMINATED)
    # §9.1 / §15: the 200 that crossed the CANCEL must be ACKed, then the call ended by BYE.
    lines = [line for line in pair.lines() if line != "CANCEL 1"]  # lost, retransmitted by E
    assert lines[3:] == ["200 INVITE", "ACK 1", "BYE 2", "200 BYE"]
    events = pair.uac_events()
    failed = [e for e in events if isinstance(e, CallFailed)]
    assert [(f.cause, f.status) for f in failed] == [(FailureCause.NO_ANSWER, 200)]
    assert isinstance(events[-1], CallEnded) and pair.uac.state is CallState.TERMINATED
