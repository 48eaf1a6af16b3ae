"""The SIP REGISTER probe: "can a phone log in to this platform, and how fast?".

VIOMS monitors SIP registration as such (sla-rules §2): a registrar that
answers OPTIONS but refuses every REGISTER is an outage for every phone. The
probe registers a monitoring account exactly like a handset does (RFC 3261
§10.2): REGISTER, answer the 401/407 digest challenge, expect a 2xx that
lists our Contact with a granted expiry, then (optionally) remove the binding
again with `expires=0` so the monitor leaves no stale bindings behind.

`RegisterSession` is the protocol logic without I/O: it builds requests and
judges final responses, so every rule below is unit-tested without sockets.
`SipRegisterProbe` is the thin driver over the daemon's `SipTransports`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from ..base import FailureReason, ProbeResult
from ..errors import InvalidValue, SipParseError, SipUriError
from ..measurements import RegisterMeasured
from .digest import Challenge, Credentials, DigestClient, select_challenge
from .dns import DnsResolver, Locator
from .failover import Route
from .message import Headers, Request, Response, make_call_id, make_tag, split_header_list
from .nameaddr import NameAddr, parse_name_addr
from .oneshot import run_once
from .tls import TlsSettings, expiry_days
from .transport import Outcome, RequestContext, SipTransports
from .uri import SipUri

__all__ = [
    "RegisterSession",
    "RegisterSettings",
    "SipRegisterProbe",
    "Step",
    "StepKind",
    "fetch_bindings",
    "register_once",
]

# Bounded rounds per REGISTER: a registrar and one proxy may each challenge, and
# a stale nonce may be re-challenged once (RFC 7616 §3.3); more is a loop.
MAX_ROUNDS = 4


@dataclass(frozen=True)
class RegisterSettings:
    """One configured registration check; validated here so bad config fails at load.

    `target` names the registrar and the account: `sip:USER@REGISTRAR[:PORT]`.
    The address-of-record is `sip:USER@DOMAIN`, DOMAIN defaulting to the
    registrar's host (§10.2: the Request-URI names the domain, without user).
    """

    target: SipUri
    password: str = field(repr=False)
    username: str | None = None  # digest user; the AOR user if unset
    domain: str | None = None
    expires: int = 60
    deregister: bool = True
    user_agent: str = "monitord/0.1"
    t1: float = 0.5
    t2: float = 4.0
    tls: TlsSettings | None = None  # trust for sips:/transport=tls registrars

    def __post_init__(self) -> None:
        if not self.target.user:
            raise InvalidValue(f"a REGISTER target needs the account user: sip:USER@HOST, got {self.target}")
        if not 1 <= self.expires <= 86400:
            raise InvalidValue(f"expires must be 1..86400 seconds, got {self.expires}")
        if not self.password:
            raise InvalidValue("the registration password is empty")
        if any(ch in self.user_agent for ch in "\r\n\x00"):
            raise InvalidValue("user_agent must be a single line")
        if not 0 < self.t1 <= self.t2:
            raise InvalidValue(f"timers need 0 < t1 <= t2, got t1={self.t1} t2={self.t2}")

    @property
    def aor(self) -> str:
        return f"sip:{self.target.user}@{self.domain or self.target.host_for_uri}"

    @property
    def request_uri(self) -> str:
        """§10.2: "The Request-URI names the domain of the location service"; we send it
        to the configured registrar, keeping its port and transport parameter."""
        t = self.target
        if self.domain is None:
            return str(SipUri(t.scheme, None, t.host, t.port, t.params))
        return f"{t.scheme}:{self.domain}"


class StepKind(enum.Enum):
    RETRY = "retry"  # a challenge was answered: send the request again
    DONE = "done"  # a 2xx ended the REGISTER
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    """What the driver does after a final response."""

    kind: StepKind
    detail: str = ""
    reason: FailureReason | None = None
    expires: int | None = None  # granted for our Contact (DONE with a binding)
    bindings: tuple[NameAddr, ...] = ()  # every Contact the 2xx listed


class RegisterSession:
    """One registration (Call-ID, CSeq, challenges) with no I/O.

    §10.2: a UA "SHOULD use the same Call-ID for all registrations during a
    single boot cycle" and increments CSeq; the retried request after a
    challenge is a new transaction with CSeq + 1 (§22.2).
    """

    def __init__(self, settings: RegisterSettings, *, call_id: str | None = None) -> None:
        self.settings = settings
        self.call_id = call_id or make_call_id()
        self.from_tag = make_tag()
        self.cseq = 0
        self.contact: str | None = None  # the Contact URI of the last request
        self.rounds = 0  # challenges answered within the current REGISTER
        creds = Credentials(settings.username or settings.target.user or "", settings.password)
        self._digest = DigestClient(creds)
        # header name -> challenge: a registrar (401) and a proxy (407) may both ask
        self._challenges: dict[str, Challenge] = {}
        self._answered: set[str] = set()  # nonces already answered in this REGISTER

    def begin(self) -> None:
        """Start a new REGISTER (the next one after a success): fresh round count."""
        self.rounds = 0
        self._answered.clear()

    def build(self, ctx: RequestContext, *, expires: int | None, bind: bool = True) -> Request:
        """The next REGISTER. `bind=False` sends no Contact: a query that lists the
        current bindings (§10.2.3); `expires=0` removes our binding (§10.2.2)."""
        s = self.settings
        self.cseq += 1
        headers = Headers()
        headers.add("Via", ctx.via)
        headers.add("Max-Forwards", 70)
        headers.add("From", f"<{s.aor}>;tag={self.from_tag}")
        headers.add("To", f"<{s.aor}>")
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{self.cseq} REGISTER")
        if bind:
            tp = "" if ctx.transport == "udp" else f";transport={ctx.transport}"
            self.contact = f"sip:{s.target.user}@{ctx.sent_by}{tp}"
            headers.add("Contact", f"<{self.contact}>")
        if expires is not None:
            headers.add("Expires", expires)
        uri = s.request_uri
        for challenge in self._challenges.values():
            name, value = self._digest.authorize(challenge, method="REGISTER", uri=uri)
            headers.add(name, value)
        headers.add("User-Agent", s.user_agent)
        headers.add("Content-Length", 0)
        return Request("REGISTER", uri, headers)

    def receive(self, response: Response) -> Step:
        """Judge a final response to the last request built."""
        status = response.status
        summary = f"SIP {status} {response.reason}".rstrip()
        if status in (401, 407):
            return self._challenged(response, summary)
        if status == 403:
            # §21.4.4: "the server understood the request, but is refusing to fulfill it".
            return Step(StepKind.FAILED, f"{summary}: credentials rejected", FailureReason.REJECTED)
        if 200 <= status < 300:
            return self._success(response, summary)
        return Step(StepKind.FAILED, f"{summary} to REGISTER", FailureReason.STATUS)

    def _challenged(self, response: Response, summary: str) -> Step:
        proxy = response.status == 407
        header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        challenge = select_challenge(response.headers.get_all(header), proxy=proxy)
        if challenge is None:
            offered = "; ".join(response.headers.get_all(header)) or "none"
            detail = f"{summary} without a Digest challenge we can answer (offered: {offered})"
            return Step(StepKind.FAILED, detail[:300], FailureReason.STATUS)
        name = challenge.authorization_header
        repeated = name in self._challenges and not challenge.stale
        if repeated or challenge.nonce in self._answered:
            # We answered this realm already and it was not a stale nonce: the
            # password (or user) is wrong. Registrars say so with a fresh 401.
            detail = f"{summary} again after answering the challenge: credentials rejected"
            return Step(StepKind.FAILED, detail, FailureReason.REJECTED)
        if self.rounds >= MAX_ROUNDS:
            return Step(StepKind.FAILED, f"{summary} after {self.rounds} rounds",
                        FailureReason.REJECTED)
        self.rounds += 1
        self._answered.add(challenge.nonce)
        self._challenges[name] = challenge
        return Step(StepKind.RETRY, f"{summary} ({challenge.algorithm})")

    def _success(self, response: Response, summary: str) -> Step:
        bindings: list[NameAddr] = []
        try:
            for value in response.headers.get_all("Contact"):
                bindings.extend(parse_name_addr(v) for v in split_header_list(value))
        except SipParseError as exc:
            return Step(StepKind.FAILED, f"{summary} with a malformed Contact: {exc}",
                        FailureReason.MALFORMED)
        granted: int | None = None
        mine = _find(bindings, self.contact) if self.contact else None
        if mine is not None:
            granted = _expires_of(mine, response)
        return Step(StepKind.DONE, summary, None, granted, tuple(bindings))

    def granted_failure(self, step: Step) -> RegisterFailure | None:
        """§10.3 step 8: the 2xx lists the bindings. Ours missing means not registered."""
        if step.expires is None:
            listed = ", ".join(b.uri for b in step.bindings) or "no Contact"
            return RegisterFailure(FailureReason.STATUS,
                                f"{step.detail} but our binding {self.contact} was not granted"
                                f" (listed: {listed})")
        if step.expires <= 0:
            return RegisterFailure(FailureReason.STATUS, f"{step.detail} but granted expires=0")
        return None


@dataclass(frozen=True, slots=True)
class Exchanged:
    """One REGISTER exchange, challenge rounds included."""

    step: Step | None  # None: no final response (see `outcome`)
    outcome: Outcome  # the last round's
    transmissions: int  # over every round
    began: float | None  # first transmission of the first round (loop clock)

    @property
    def round_trip(self) -> float | None:
        """First transmission to the final response, challenge included (wire time)."""
        if self.began is None or self.outcome.arrival is None:
            return None
        return max(0.0, self.outcome.arrival - self.began)


@dataclass(frozen=True, slots=True)
class RegisterFailure:
    reason: FailureReason
    detail: str


def _same_contact(a: str, b: str) -> bool:
    """§19.1.4 URI comparison, reduced to what identifies our binding: user, host, port."""
    try:
        ua, ub = SipUri.parse(a), SipUri.parse(b)
    except SipUriError:
        return a.lower() == b.lower()
    return (ua.user, ua.host.lower(), ua.effective_port) == (ub.user, ub.host.lower(),
                                                            ub.effective_port)


def _find(bindings: list[NameAddr], contact: str) -> NameAddr | None:
    return next((b for b in bindings if _same_contact(b.uri, contact)), None)


def _expires_of(binding: NameAddr, response: Response) -> int | None:
    # §10.3 step 8: each Contact carries its expires parameter; else the Expires header.
    for text in (binding.param("expires"), response.headers.get("Expires")):
        if text is not None and text.strip().isdigit():
            return int(text.strip())
    return None


class SipRegisterProbe:
    """Registers once per run (challenge included) and, if configured, de-registers.

    With a `resolver` the registrar is located by RFC 3263 with failover on
    timeout (probes/sip/failover.py); the run then stays on the registrar that
    answered, which issued the nonce and holds the binding to remove.
    """

    def __init__(self, settings: RegisterSettings, transports: SipTransports,
                 resolver: Locator | None = None) -> None:
        self.settings = settings
        self._transports = transports
        self._resolver = resolver

    def route(self) -> Route:
        s = self.settings
        return Route(s.target, self._transports, self._resolver, t1=s.t1, t2=s.t2, tls=s.tls)

    async def exchange(
        self, session: RegisterSession, deadline: float, *, expires: int | None, bind: bool = True,
        route: Route | None = None,
    ) -> Exchanged:
        """One REGISTER including its challenge rounds. Each retry is due the moment the
        challenge arrived, so time our daemon sat on it is not the registrar's."""
        route = route or self.route()
        session.begin()
        sent, began, due = 0, None, None
        for _ in range(MAX_ROUNDS + 1):
            outcome = await route.request(
                lambda ctx: session.build(ctx, expires=expires, bind=bind), deadline, due)
            sent += outcome.transmissions
            began = outcome.sent_at if began is None else began
            if outcome.response is None:
                return Exchanged(None, outcome, sent, began)
            step = session.receive(outcome.response)
            if step.kind is not StepKind.RETRY:
                return Exchanged(step, outcome, sent, began)
            due = outcome.arrival
        raise AssertionError("RegisterSession bounds its rounds")  # pragma: no cover

    async def run(self, deadline: float) -> ProbeResult:
        s = self.settings
        session = RegisterSession(s)
        route = self.route()
        done = await self.exchange(session, deadline, expires=s.expires, route=route)
        step, outcome, elapsed = done.step, done.outcome, done.round_trip
        measured = RegisterMeasured(
            status=None if outcome.response is None else outcome.response.status,
            transmissions=done.transmissions, auth_rounds=session.rounds,
            route=route.measured(),
            tls_cert_expiry_days=None if outcome.tls_not_after is None
            else expiry_days(outcome.tls_not_after),
        )
        if step is None:
            return replace(outcome, detail=f"REGISTER: {outcome.detail}").result(measured)
        failure = (RegisterFailure(step.reason or FailureReason.INTERNAL, step.detail)
                   if step.kind is StepKind.FAILED else session.granted_failure(step))
        if failure is not None:
            return ProbeResult.failure(failure.reason, failure.detail + route.evidence(),
                                       latency=elapsed, measured=measured)
        assert step.expires is not None
        measured = replace(measured, register_expires=step.expires)
        detail = f"{step.detail}, registered {session.contact} for {step.expires}s"
        if s.deregister:
            deregistered, how = await self._deregister(session, deadline, route)
            measured = replace(measured, deregistered=deregistered)
            detail += "; " + how
        return ProbeResult.success(elapsed, detail + route.evidence(), measured)

    async def _deregister(
        self, session: RegisterSession, deadline: float, route: Route
    ) -> tuple[bool, str]:
        """Remove our binding: (done, what happened). Its failure is reported in the
        detail, not as a failed check: the registration itself worked, which is what
        the check measures."""
        done = await self.exchange(session, deadline, expires=0, route=route)
        step, outcome = done.step, done.outcome
        ok = step is not None and step.kind is StepKind.DONE and step.expires is None
        if ok:
            return True, "de-registered"
        if step is None:
            return False, f"de-registration failed: {outcome.detail}"
        if step.kind is StepKind.DONE:
            return False, f"de-registration left our binding for {step.expires}s"
        return False, f"de-registration failed: {step.detail}"


async def fetch_bindings(
    settings: RegisterSettings, transports: SipTransports, deadline: float
) -> Step | None:
    """REGISTER without Contact (§10.2.3): the registrar lists the AOR's bindings.

    For tests and operators checking that the monitor left nothing behind.
    """
    probe = SipRegisterProbe(settings, transports)
    done = await probe.exchange(RegisterSession(settings), deadline, expires=None, bind=False)
    return done.step


async def register_once(settings: RegisterSettings, timeout: float,
                        resolver: Locator | None = None) -> ProbeResult:
    """One registration with its own sockets, for the CLI (`monitord register`);
    host names go through RFC 3263 with `resolver` (default: the system's DNS)."""
    dns = resolver or DnsResolver()
    return await run_once(lambda transports: SipRegisterProbe(settings, transports, dns), timeout)
