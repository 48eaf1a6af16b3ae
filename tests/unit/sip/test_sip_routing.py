"""The sans-IO router: what a shared SIP socket does with each message (RFC 3261 §18.1.2).

Issue 12: a peer that sent 5 bytes of junk before each valid 200 OK put every
check on that address DOWN, because a datagram that did not parse failed the
address's transactions. Here junk is discarded and counted, and only a parsed
response matched to a transaction reaches it, byte streams and all, with no
socket involved.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from probes.errors import SipParseError
from probes.sip.message import Headers, Request, Response, parse_message
from probes.sip.routing import Discard, Discarded, ForCall, ForTransaction, RateLimit, Router
from tests.unit.sip.test_sip_fuzz import messages

PEER = ("127.0.0.1", 5060)
BRANCH = "z9hG4bKabc123"


def options_200(branch: str = BRANCH, method: str = "OPTIONS", call_id: str = "c1") -> bytes:
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP 127.0.0.1:40000;rport=40000;branch={branch}")
    headers.add("From", "<sip:monitord@127.0.0.1>;tag=1")
    headers.add("To", "<sip:127.0.0.1>;tag=2")
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"1 {method}")
    headers.add("Content-Length", 0)
    return Response(200, "OK", headers).serialize()


def bye(call_id: str) -> bytes:
    headers = Headers()
    headers.add("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfar")
    headers.add("From", "<sip:far@127.0.0.1>;tag=f")
    headers.add("To", "<sip:monitord@127.0.0.1>;tag=n")
    headers.add("Call-ID", call_id)
    headers.add("CSeq", "7 BYE")
    headers.add("Content-Length", 0)
    return Request("BYE", "sip:monitord@127.0.0.1", headers).serialize()


def test_junk_before_each_answer_is_discarded_and_the_answer_still_ends_the_transaction() -> None:
    router: Router[str, str] = Router()
    router.open(BRANCH, "OPTIONS", "check-1")
    router.open("z9hG4bKother", "OPTIONS", "check-2")  # another check on the same address
    junk = router.datagram(b"\x00junk", PEER, 1.0)
    assert isinstance(junk, Discarded) and junk.reason is Discard.MALFORMED
    answer = router.datagram(options_200(), PEER, 1.001)
    assert isinstance(answer, ForTransaction)
    assert (answer.pending, answer.response.status, answer.arrival) == ("check-1", 200, 1.001)
    # the junk touched nobody: the other transaction is still open
    assert list(router.pending()) == ["check-1", "check-2"]
    assert router.discarded[Discard.MALFORMED] == 1


def test_a_response_for_nobody_and_a_late_retransmission_are_discarded_by_reason() -> None:
    router: Router[str, str] = Router()
    stray = router.datagram(options_200("z9hG4bKnobody"), PEER, 1.0)
    assert isinstance(stray, Discarded) and stray.reason is Discard.NO_TRANSACTION
    router.open(BRANCH, "OPTIONS", "check-1")
    assert isinstance(router.datagram(options_200(), PEER, 1.0), ForTransaction)
    router.close(BRANCH, "check-1")
    router.absorb(BRANCH, until=6.0, now=1.0)  # Timer K (§17.1.2.2)
    again = router.datagram(options_200(), PEER, 1.5)
    assert isinstance(again, Discarded) and again.reason is Discard.RETRANSMISSION
    router.absorb("z9hG4bKlater", until=12.0, now=7.0)  # Timer K of the first has expired
    late = router.datagram(options_200(), PEER, 7.5)
    assert isinstance(late, Discarded) and late.reason is Discard.NO_TRANSACTION


def test_the_cseq_method_must_match_too() -> None:
    router: Router[str, str] = Router()
    router.open(BRANCH, "REGISTER", "reg")
    wrong = router.datagram(options_200(method="OPTIONS"), PEER, 1.0)
    assert isinstance(wrong, Discarded) and wrong.reason is Discard.NO_TRANSACTION
    assert list(router.pending()) == ["reg"]


def test_calls_get_their_call_id_and_other_requests_are_stray() -> None:
    router: Router[str, str] = Router()
    router.add_call("call-1", "the-call", PEER, "udp")
    to_call = router.datagram(bye("call-1"), PEER, 2.0)
    assert isinstance(to_call, ForCall)
    assert (to_call.handler, to_call.source, to_call.transport) == ("the-call", PEER, "udp")
    stray = router.datagram(bye("someone-else"), PEER, 2.0)
    assert isinstance(stray, Discarded) and stray.reason is Discard.STRAY_REQUEST
    assert router.calls_to(PEER, "udp") == ["the-call"]
    router.remove_call("call-1")
    assert router.calls_to(PEER, "udp") == []


def test_keepalives_are_neither_routed_nor_counted() -> None:
    router: Router[str, str] = Router()
    assert router.datagram(b"\r\n\r\n", PEER, 1.0) is None
    assert sum(router.discarded.values()) == 0


@given(st.binary(max_size=300))
def test_any_datagram_is_routed_or_discarded_and_never_raises(data: bytes) -> None:
    router: Router[str, str] = Router()
    router.open(BRANCH, "OPTIONS", "check-1")
    routed = router.datagram(data, PEER, 1.0)
    assert routed is None or isinstance(routed, Discarded | ForTransaction | ForCall)
    if not isinstance(routed, ForTransaction):
        assert list(router.pending()) == ["check-1"]


def test_the_discard_log_is_rate_limited_and_says_what_it_left_out() -> None:
    limit = RateLimit(burst=2, window=10.0)
    assert [limit.allow(t) for t in (0.0, 1.0, 2.0, 3.0, 4.0)] == [0, 0, None, None, None]
    assert limit.allow(10.5) == 3  # a new window: logs again, mentioning the 3 left out
    assert limit.allow(11.0) == 0


@given(messages(), st.sampled_from(["OPTIONS", "REGISTER"]), st.booleans())
def test_a_datagram_goes_where_its_parsed_message_goes(message: Request | Response,
                                                       method: str, ours: bool) -> None:
    """`datagram` takes a just-parsed response's kept top Via and CSeq: the same route
    as `message`, which reads them through `top_via` and `cseq`."""
    data = message.serialize()
    try:
        parsed = parse_message(data)
        branch = parsed.top_via.branch or ""
    except SipParseError:
        return
    routers: list[Router[str, str]] = [Router(), Router()]
    for router in routers:
        router.open(branch if ours else "z9hG4bKnot-this-one", method, "txn")
        router.add_call("c-other", "call", PEER, "udp")
    by_datagram = routers[0].datagram(data, PEER, 1.0)
    by_message = routers[1].message(parsed, PEER, "udp", 1.0)
    assert type(by_datagram) is type(by_message)
    if isinstance(by_datagram, ForTransaction):
        assert isinstance(by_message, ForTransaction)
        assert by_datagram.pending == by_message.pending
        assert by_datagram.response == by_message.response
    assert routers[0].discarded == routers[1].discarded
