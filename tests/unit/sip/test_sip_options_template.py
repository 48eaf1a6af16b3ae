"""The OPTIONS template's wire fast path (`prepare`) against its careful path (`request`)."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from probes.sip.message import BRANCH_MAGIC, Request, make_branch, parse_message
from probes.sip.options import OptionsSettings, OptionsTemplate
from probes.sip.transaction import NonInviteClientTransaction, PreparedRequest
from probes.sip.transport import RequestContext
from probes.sip.uri import SipUri

_HEX = "0123456789abcdef"
_ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_USER = _ALNUM + "-_.!~*'()%&=+$,;?/"

targets = st.sampled_from([
    "sip:127.0.0.1:5060", "sip:pbx.example.net", "sip:alice@pbx.example.net:5070",
    "sips:[2001:db8::1]:5061", "sip:192.0.2.10;transport=tcp", "sip:%61b@h.example;lr",
])
hosts = st.sampled_from(["127.0.0.1", "::1", "192.0.2.7", "2001:db8::42", "probe.local"])
settings = st.builds(
    lambda uri, user, agent: OptionsSettings(SipUri.parse(uri), from_user=user,
                                             user_agent=agent),
    targets,
    st.text(_USER, min_size=1, max_size=20),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
)
contexts = st.builds(
    lambda transport, host, port, tail: RequestContext(transport, host, port,
                                                       BRANCH_MAGIC + tail),
    st.sampled_from(["udp", "tcp", "tls"]), hosts, st.integers(1, 65535),
    st.text(_ALNUM, min_size=1, max_size=40),
)


def _later(ctx: RequestContext, tail: str) -> RequestContext:
    return RequestContext(ctx.transport, ctx.local_host, ctx.local_port, BRANCH_MAGIC + tail)


@given(settings, contexts, st.text(_ALNUM, min_size=1, max_size=40),
       st.text(_HEX, min_size=1, max_size=24), st.text(_ALNUM, min_size=1, max_size=48))
def test_spliced_bytes_are_what_the_careful_request_serializes(
        options: OptionsSettings, first: RequestContext, tail: str, tag: str,
        call_id: str) -> None:
    template = OptionsTemplate(options, first)
    assert template._pieces is not None  # the fast path is on for every such template
    ctx = _later(first, tail)
    careful = template._careful(ctx, tag, call_id)
    assert template._splice(template._pieces, ctx.branch, tag, call_id) == careful.serialize()


@given(settings, contexts, st.text(_ALNUM, min_size=1, max_size=40))
def test_a_prepared_request_is_the_request_it_stands_for(
        options: OptionsSettings, first: RequestContext, tail: str) -> None:
    template = OptionsTemplate(options, first)
    ctx = _later(first, tail)
    prepared = template.prepare(ctx)
    assert isinstance(prepared, PreparedRequest)
    request = prepared.request
    assert prepared.wire == request.serialize() and prepared.request is request
    assert prepared.branch == ctx.branch == request.top_via.branch
    assert prepared.method == request.method == "OPTIONS"
    reparsed = parse_message(prepared.wire)
    assert reparsed.top_via == request.top_via and reparsed.headers == request.headers
    # only the three fresh values differ from the careful request of the same context
    fresh = ("From", "Call-ID")
    careful = template.request(ctx)
    assert [f for f in request.headers if f[0] not in fresh] == \
        [f for f in careful.headers if f[0] not in fresh]


@given(st.text(_USER + " \t", min_size=1, max_size=20).filter(lambda t: not t.isalnum()))
def test_a_branch_that_is_not_a_plain_token_takes_the_careful_path(tail: str) -> None:
    options = OptionsSettings(SipUri.parse("sip:127.0.0.1:5060"))
    first = RequestContext("udp", "127.0.0.1", 5062, make_branch())
    template = OptionsTemplate(options, first)
    ctx = _later(first, tail)
    with patch("probes.sip.options.make_tag_and_call_id", return_value=("t1", "c1")):
        try:
            expected: bytes | Exception = template.request(ctx).serialize()
        except Exception as exc:  # whatever the careful path does, prepare does
            expected = exc
        try:
            got = template.prepare(ctx)
        except Exception as exc:
            assert type(exc) is type(expected) and str(exc) == str(expected)
            return
    assert isinstance(got, Request)
    assert isinstance(expected, bytes) and got.serialize() == expected


def test_a_transaction_sends_a_prepared_request_as_it_would_the_request() -> None:
    options = OptionsSettings(SipUri.parse("sip:127.0.0.1:5060"))
    first = RequestContext("udp", "127.0.0.1", 5062, make_branch())
    template = OptionsTemplate(options, first)
    prepared = template.prepare(_later(first, "abc123"))
    assert isinstance(prepared, PreparedRequest)
    fast = NonInviteClientTransaction(prepared, reliable=False, now=0.0)
    slow = NonInviteClientTransaction(prepared.request, reliable=False, now=0.0)
    assert fast.data_to_send() == slow.data_to_send() == [prepared.wire]
    assert (fast.branch, fast.method) == (slow.branch, slow.method)
    assert fast.request is prepared.request
