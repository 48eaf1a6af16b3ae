"""The SIP OPTIONS probe: "is this SIP server answering, and how fast?".

OPTIONS is the ping of SIP (RFC 3261 §11): every proxy, registrar and PBX
answers it without side effects, so it is safe to send every few seconds
against production platforms.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..base import FailureReason, ProbeResult
from ..errors import InvalidValue
from ..measurements import OptionsMeasured
from .dns import DnsResolver, Locator, literal_resolution
from .failover import Route
from .message import Headers, Request, make_call_id, make_tag, make_tag_and_call_id
from .oneshot import run_once
from .tls import TlsSettings, expiry_days
from .transaction import PreparedRequest
from .transport import RequestContext, SipTransports
from .uri import SipUri

__all__ = ["DEFAULT_ACCEPT", "OptionsSettings", "OptionsTemplate", "SipOptionsProbe",
           "build_options_request", "probe_once"]

DEFAULT_ACCEPT: frozenset[int] = frozenset(range(200, 300))
_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()%&=+$,;?/]+")


@dataclass(frozen=True)
class OptionsSettings:
    """One configured OPTIONS check; validated here so bad config fails at load."""

    target: SipUri
    accept: frozenset[int] = DEFAULT_ACCEPT
    from_user: str = "monitord"
    user_agent: str = "monitord/0.1"
    t1: float = 0.5
    t2: float = 4.0
    tls: TlsSettings | None = None  # trust for sips:/transport=tls targets (verify by default)

    def __post_init__(self) -> None:
        bad = sorted(code for code in self.accept if not 200 <= code <= 699)
        if not self.accept or bad:
            # 1xx never end a transaction, so accepting them could never match.
            raise InvalidValue(f"accepted SIP codes must be final (200..699), got {bad or 'none'}")
        if not _USER.fullmatch(self.from_user):
            raise InvalidValue(f"from_user {self.from_user!r} is not a valid SIP user part")
        if any(ch in self.user_agent for ch in "\r\n\x00"):
            raise InvalidValue("user_agent must be a single line")
        if not 0 < self.t1 <= self.t2:
            raise InvalidValue(f"timers need 0 < t1 <= t2, got t1={self.t1} t2={self.t2}")


def build_options_request(settings: OptionsSettings, ctx: RequestContext,
                          tag: str | None = None, call_id: str | None = None) -> Request:
    """An out-of-dialog OPTIONS with everything §8.1.1 and §11.1 ask for (a fresh From tag
    and Call-ID unless given)."""
    target = settings.target
    transport_param = "" if ctx.transport == "udp" else f";transport={ctx.transport}"
    headers = Headers()
    headers.add("Via", ctx.via)
    headers.add("Max-Forwards", 70)
    headers.add("From", f"<sip:{settings.from_user}@{ctx.sent_by}>;tag={make_tag() if tag is None else tag}")
    headers.add("To", f"<{target}>")
    headers.add("Call-ID", make_call_id() if call_id is None else call_id)
    headers.add("CSeq", "1 OPTIONS")
    headers.add("Contact", f"<sip:{settings.from_user}@{ctx.sent_by}{transport_param}>")
    headers.add("Accept", "application/sdp")  # §11.1: what we would like to see in the body
    headers.add("User-Agent", settings.user_agent)
    headers.add("Content-Length", 0)
    return Request("OPTIONS", str(target), headers)


class OptionsTemplate:
    """The OPTIONS of one check from one local address, built and checked once.

    Every probe sends the same request but for three fresh values: the Via
    branch, the From tag and the Call-ID (SIPp sends from a template the same
    way). Every request is what `build_options_request` builds with those
    values; `request` builds it so (the careful path).

    `prepare` is the probe's hot path: the first request's wire bytes, cut
    where the three values go, so a later request is those pieces with fresh
    values spliced in; its `Request` is built (as `request` builds it) only if
    someone asks the transaction for it. The pieces are checked against the
    first request's own `serialize()` when the template is made, and values
    that are not plain tokens take the careful path.
    """

    def __init__(self, settings: OptionsSettings, ctx: RequestContext,
                 first: Request | None = None) -> None:
        """From the first request for `ctx` (`first`, built here if not given), which is
        not kept: a template lives as long as its check, and the request, its fields and
        its parsed Via were a third of a check's memory. Only its cut text is kept."""
        self.key = (ctx.transport, ctx.local_host, ctx.local_port)
        self._settings = settings
        self._from = f"<sip:{settings.from_user}@{ctx.sent_by}>;tag="
        self._pieces = self._cut(build_options_request(settings, ctx) if first is None
                                 else first, ctx)

    def request(self, ctx: RequestContext) -> Request:
        """The request for this context (same key), with fresh branch, tag and Call-ID."""
        tag, call_id = make_tag_and_call_id()
        return self._careful(ctx, tag, call_id)

    def prepare(self, ctx: RequestContext) -> PreparedRequest | Request:
        """`request(ctx)` on its wire form: the same bytes, without building the `Request`."""
        tag, call_id = make_tag_and_call_id()
        branch = ctx.branch
        pieces = self._pieces
        if pieces is None or not (branch.isascii() and branch.isalnum()):
            return self._careful(ctx, tag, call_id)
        # the function and the template as an argument, not a bound method: one object less
        # per request in flight (a daemon that fell behind holds thousands in the GC's view)
        return PreparedRequest(self._splice(pieces, branch, tag, call_id), "OPTIONS", branch,
                               OptionsTemplate._careful, (self, ctx, tag, call_id))

    def _careful(self, ctx: RequestContext, tag: str, call_id: str) -> Request:
        return build_options_request(self._settings, ctx, tag, call_id)

    @staticmethod
    def _splice(pieces: tuple[str, str, str, str], branch: str, tag: str, call_id: str) -> bytes:
        return "".join((pieces[0], branch, pieces[1], tag, pieces[2], call_id,
                        pieces[3])).encode()

    def _cut(self, first: Request, ctx: RequestContext) -> tuple[str, str, str, str] | None:
        """The first request's text cut around its branch, tag and Call-ID (None: this
        request's fields are not laid out so, and every request takes the careful path)."""
        fresh_at = first.headers.positions("Via", "From", "Call-ID")
        via_at, from_at, call_id_at = fresh_at
        if not via_at < from_at < call_id_at:
            return None
        fields = list(first.headers)
        branch, via_text = ctx.branch, ctx.via
        via_value, from_value, call_id = (fields[i][1] for i in fresh_at)
        if not (via_value == via_text and via_text.endswith("=" + branch)
                and from_value.startswith(self._from)):
            return None
        tag = from_value[len(self._from):]
        lines = [f"{first.method} {first.uri} SIP/2.0", *[f"{n}: {v}" for n, v in fields]]
        lines[1 + via_at] = f"{fields[via_at][0]}: {via_text[:-len(branch)]}\0"
        lines[1 + from_at] = f"{fields[from_at][0]}: {self._from}\0"
        lines[1 + call_id_at] = f"{fields[call_id_at][0]}: \0"
        text = "\r\n".join(lines) + "\r\n\r\n"
        if "Content-Length" not in first.headers or text.count("\0") != 3:
            return None
        a, b, c, d = text.split("\0")
        pieces = (a, b, c, d)
        if self._splice(pieces, branch, tag, call_id) != first.serialize():
            return None
        return pieces


@functools.lru_cache(maxsize=256)
def _plain_measured(status: int | None, transmissions: int) -> OptionsMeasured:
    """The figures of a probe without TLS or a route: a few values, the same for most
    probes, so one frozen record of each is shared instead of built per probe."""
    return OptionsMeasured(status=status, transmissions=transmissions)


@functools.lru_cache(maxsize=256)
def _summary(status: int, reason: str) -> str:
    """What a probe says of its final response: nearly always "SIP 200 OK", so kept."""
    return f"SIP {status} {reason}".rstrip()


class SipOptionsProbe:
    """Sends one OPTIONS per run over the daemon's shared transports.

    With a `resolver`, host names are located by RFC 3263 and a timeout fails
    over to the next address (probes/sip/failover.py); the address that
    answered, and those that did not, end up in the detail.
    """

    def __init__(self, settings: OptionsSettings, transports: SipTransports,
                 resolver: Locator | None = None) -> None:
        self.settings = settings
        self._transports = transports
        self._resolver = resolver
        self._literal = literal_resolution(settings.target)  # an IP literal needs no DNS
        self._template: OptionsTemplate | None = None

    def _build(self, ctx: RequestContext) -> Request | PreparedRequest:
        template = self._template
        if template is None or template.key != (ctx.transport, ctx.local_host, ctx.local_port):
            first = build_options_request(self.settings, ctx)
            self._template = OptionsTemplate(self.settings, ctx, first)
            return first
        return template.prepare(ctx)

    async def run(self, deadline: float) -> ProbeResult:
        settings = self.settings
        literal = self._literal if self._resolver is not None else None
        if literal is not None:
            # What a Route sends for an IP literal (one address, no DNS, nothing to fail
            # over to, no route evidence), without one: the daemon's common case.
            outcome = await self._transports.request(
                self._build, settings.target, deadline, t1=settings.t1, t2=settings.t2,
                tls=settings.tls, via=literal.targets[0])
            route_measured, evidence = None, ""
        else:
            route = Route(settings.target, self._transports, self._resolver, t1=settings.t1,
                          t2=settings.t2, tls=settings.tls, literal=self._literal)
            outcome = await route.request(self._build, deadline)
            route_measured, evidence = route.measured(), route.evidence()
        response = outcome.response
        status = None if response is None else response.status
        if outcome.tls_not_after is None and route_measured is None:
            measured = _plain_measured(status, outcome.transmissions)
        else:
            measured = OptionsMeasured(
                status=status,
                transmissions=outcome.transmissions,
                tls_cert_expiry_days=None if outcome.tls_not_after is None
                else expiry_days(outcome.tls_not_after),
                route=route_measured,
            )
        if response is None:
            return outcome.result(measured)
        summary = _summary(response.status, response.reason)
        if response.status in settings.accept:
            return ProbeResult.success(outcome.latency, summary + evidence, measured)
        return ProbeResult.failure(
            FailureReason.STATUS,
            f"{summary} not in accepted codes{evidence}",
            latency=outcome.latency,
            measured=measured,
        )


async def probe_once(
    uri_text: str, timeout: float, accept: frozenset[int] | None = None,
    tls: TlsSettings | None = None, resolver: Locator | None = None,
) -> ProbeResult:
    """One OPTIONS probe with its own sockets, for the CLI (`monitord probe sip:...`).

    Host names go through RFC 3263 with `resolver` (default: the system's DNS).

    Raises `SipUriError`/`ValueError` for a bad URI or accept set: that is
    user input, not a network condition.
    """
    settings = OptionsSettings(SipUri.parse(uri_text), accept or DEFAULT_ACCEPT, tls=tls)
    dns = resolver or DnsResolver()
    return await run_once(lambda transports: SipOptionsProbe(settings, transports, dns), timeout)
