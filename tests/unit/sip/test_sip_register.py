"""REGISTER: the sans-IO session against a scripted registrar, then the probe over UDP.

The fake registrar verifies digest answers with the library's UAS side, so a
pass means our Authorization would convince a real registrar, not just that
we sent a header.
"""

from __future__ import annotations

import asyncio

import pytest

from probes.base import FailureReason
from probes.sip.digest import (
    Credentials,
    build_challenge,
    parse_authorization,
    verify_authorization,
)
from probes.sip.message import Request, Response, parse_message
from probes.sip.register import (
    RegisterSession,
    RegisterSettings,
    SipRegisterProbe,
    StepKind,
    fetch_bindings,
)
from probes.sip.transport import RequestContext, SipTransports
from probes.sip.uas import build_response
from probes.sip.uri import SipUri

CTX = RequestContext("udp", "127.0.0.1", 40000, "z9hG4bK-test")


class FakeRegistrar:
    """A digest registrar as a function request -> response, bindings in a dict."""

    def __init__(self, *, password: str = "secret", algorithm: str = "MD5",
                 proxy: bool = False, stale_first: bool = False) -> None:
        self.password, self.algorithm, self.proxy = password, algorithm, proxy
        self.stale_first = stale_first
        self.bindings: dict[str, int] = {}
        self.requests: list[Request] = []
        self.nonce = 0
        self.status_override: int | None = None
        self.omit_contact = False

    def handle(self, req: Request) -> Response:
        self.requests.append(req)
        if self.status_override is not None:
            return build_response(req, self.status_override, "Scripted")
        header = "Proxy-Authorization" if self.proxy else "Authorization"
        value = req.headers.get(header)
        ok = False
        if value is not None:
            creds = parse_authorization(value)
            ok = verify_authorization(creds, expected=Credentials("alice", self.password),
                                      method="REGISTER")
            if ok and self.stale_first:
                self.stale_first = False
                return self._challenge(req, stale=True)
        if not ok:
            return self._challenge(req)
        contact = req.headers.get("Contact")
        if contact is not None:
            uri = contact.strip("<>")
            expires = int(req.headers.get("Expires") or "3600")
            if expires == 0:
                self.bindings.pop(uri, None)
            else:
                self.bindings[uri] = expires
        resp = build_response(req, 200, "OK")
        if not self.omit_contact:
            for uri, exp in self.bindings.items():
                resp.headers.add("Contact", f"<{uri}>;expires={exp}")
        return resp

    def _challenge(self, req: Request, stale: bool = False) -> Response:
        self.nonce += 1
        status, name = (407, "Proxy-Authenticate") if self.proxy else (401, "WWW-Authenticate")
        resp = build_response(req, status, "Unauthorized")
        resp.headers.add(name, build_challenge(realm="example.net", nonce=f"n{self.nonce}",
                                               algorithm=self.algorithm, stale=stale))
        return resp


def settings(**kw: object) -> RegisterSettings:
    base: dict[str, object] = {"target": SipUri.parse("sip:alice@127.0.0.1:5070"),
                               "password": "secret"}
    base.update(kw)
    return RegisterSettings(**base)  # type: ignore[arg-type]


def drive(session: RegisterSession, registrar: FakeRegistrar, expires: int | None = 60):
    """Run one REGISTER with its challenge rounds, sans IO."""
    session.begin()
    for _ in range(6):
        step = session.receive(registrar.handle(session.build(CTX, expires=expires)))
        if step.kind is not StepKind.RETRY:
            return step
    raise AssertionError("no final step")


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
@pytest.mark.parametrize("proxy", [False, True])
def test_challenge_is_answered_and_binding_granted(algorithm: str, proxy: bool) -> None:
    reg = FakeRegistrar(algorithm=algorithm, proxy=proxy)
    session = RegisterSession(settings())
    step = drive(session, reg)
    assert step.kind is StepKind.DONE and step.expires == 60
    assert session.granted_failure(step) is None
    assert session.rounds == 1
    first, second = reg.requests
    # §10.2: Request-URI is the registrar's domain without user; one Call-ID, CSeq + 1
    assert first.uri == "sip:127.0.0.1:5070"
    assert first.headers.get("To") == "<sip:alice@127.0.0.1>"  # the AOR: user@domain
    assert first.headers.get("Call-ID") == second.headers.get("Call-ID")
    assert (first.cseq[0], second.cseq[0]) == (1, 2)
    assert f"algorithm={algorithm}" in (second.headers.get("Authorization")
                                        or second.headers.get("Proxy-Authorization") or "")


def test_wrong_password_is_rejected_after_one_round() -> None:
    reg = FakeRegistrar(password="other")
    step = drive(RegisterSession(settings()), reg)
    assert step.kind is StepKind.FAILED and step.reason is FailureReason.REJECTED
    assert "401" in step.detail and "credentials rejected" in step.detail
    assert len(reg.requests) == 2  # no guessing loop


def test_stale_nonce_is_answered_again() -> None:
    reg = FakeRegistrar(stale_first=True)
    session = RegisterSession(settings())
    step = drive(session, reg)
    assert step.kind is StepKind.DONE and session.rounds == 2


@pytest.mark.parametrize(("status", "reason"), [(403, FailureReason.REJECTED),
                                                (404, FailureReason.STATUS),
                                                (503, FailureReason.STATUS)])
def test_other_final_codes_are_named(status: int, reason: FailureReason) -> None:
    reg = FakeRegistrar()
    reg.status_override = status
    step = drive(RegisterSession(settings()), reg)
    assert step.kind is StepKind.FAILED and step.reason is reason
    assert f"SIP {status}" in step.detail


def test_2xx_without_our_binding_is_not_a_registration() -> None:
    reg = FakeRegistrar()
    reg.omit_contact = True
    session = RegisterSession(settings())
    step = drive(session, reg)
    failure = session.granted_failure(step)
    assert failure is not None and failure.reason is FailureReason.STATUS
    assert "not granted" in failure.detail


def test_deregistration_and_query() -> None:
    reg = FakeRegistrar()
    session = RegisterSession(settings())
    drive(session, reg)
    assert reg.bindings
    step = drive(session, reg, expires=0)
    assert step.kind is StepKind.DONE and step.expires is None and not reg.bindings
    # the deregistration reuses the Call-ID with a higher CSeq (§10.2)
    assert reg.requests[-1].cseq[0] > reg.requests[0].cseq[0]


def test_challenge_without_digest_is_a_named_status() -> None:
    session = RegisterSession(settings())
    req = session.build(CTX, expires=60)
    resp = build_response(req, 401, "Unauthorized")
    resp.headers.add("WWW-Authenticate", 'Basic realm="x"')
    step = session.receive(resp)
    assert step.reason is FailureReason.STATUS and "Basic" in step.detail


def test_settings_refuse_a_target_without_user() -> None:
    with pytest.raises(ValueError, match="account user"):
        settings(target=SipUri.parse("sip:127.0.0.1"))
    assert "secret" not in repr(settings())


# -- over sockets ------------------------------------------------------------------


class UdpRegistrar(asyncio.DatagramProtocol):
    def __init__(self, registrar: FakeRegistrar, delay: float = 0.0) -> None:
        self.registrar, self.delay = registrar, delay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        req = parse_message(data)
        assert isinstance(req, Request)
        out = self.registrar.handle(req).serialize()
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        loop.call_later(self.delay, self.transport.sendto, out, addr)


async def serve(reg: FakeRegistrar, delay: float = 0.0) -> tuple[asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: UdpRegistrar(reg, delay), local_addr=("127.0.0.1", 0))
    return transport, int(transport.get_extra_info("sockname")[1])


async def test_probe_registers_measures_both_rounds_and_deregisters(
    transports: SipTransports,
) -> None:
    reg = FakeRegistrar(algorithm="SHA-256")
    server, port = await serve(reg, delay=0.02)
    try:
        s = settings(target=SipUri.parse(f"sip:alice@127.0.0.1:{port}"))
        loop = asyncio.get_running_loop()
        result = await SipRegisterProbe(s, transports).run(loop.time() + 3)
        assert result.ok, result.detail
        # the round trip includes the challenge: two exchanges of >= 20 ms each
        assert result.latency is not None and result.latency >= 0.04
        assert result.measurements["sip_register_expires"] == 60
        assert result.measurements["sip_auth_rounds"] == 1
        assert result.measurements["sip_deregistered"] == 1
        assert "de-registered" in result.detail and not reg.bindings
        listed = await fetch_bindings(s, transports, loop.time() + 3)
        assert listed is not None and listed.kind is StepKind.DONE and listed.bindings == ()
    finally:
        server.close()


async def test_probe_reports_rejected_and_timeout(transports: SipTransports) -> None:
    reg = FakeRegistrar(password="other")
    server, port = await serve(reg)
    try:
        loop = asyncio.get_running_loop()
        s = settings(target=SipUri.parse(f"sip:alice@127.0.0.1:{port}"))
        result = await SipRegisterProbe(s, transports).run(loop.time() + 3)
        assert result.reason is FailureReason.REJECTED, result.detail
    finally:
        server.close()
    silent = await serve(FakeRegistrar(), delay=5)
    try:
        s = settings(target=SipUri.parse(f"sip:alice@127.0.0.1:{silent[1]}"))
        result = await SipRegisterProbe(s, transports).run(loop.time() + 0.3)
        assert result.reason is FailureReason.TIMEOUT, result.detail
    finally:
        silent[0].close()
