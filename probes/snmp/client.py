"""A thin layer over pysnmp 7's asyncio hlapi, shared by every SNMP probe.

Why a layer: pysnmp reports most failures as *error indications* (values,
not exceptions) and missing OIDs as special varbind values; each probe would
otherwise re-learn which of those is a timeout, a credential problem or a
misconfigured OID. Here they all become `SnmpError(reason, detail)` with a
detail an operator can act on, and no credential ever appears in it.

One `SnmpEngine` per daemon (one UDP socket, one request-id space, one USM
cache) serves all devices; it is created lazily, so building a
`ProbeContext` in a test costs nothing, and `close()` releases the socket
and the engine's timer task.

A request is judged on the wire (see probes/snmp/transport.py): an answer
counts when it arrived, and at the deadline whatever is already queued is
processed first. Silence is an agent's timeout only if our daemon did its
part: nothing dropped by our own socket, no answers left unread, and our
loop (which runs pysnmp's retransmission timer) not behind by more than
`probes.timing.tolerance`. Otherwise the failure is inconclusive and its
detail says why, so the agent is never blamed for our overload.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# pysnmp imports pysmi (when installed, as snmpsim needs it) through names pysmi 2
# deprecated; those warnings are theirs to fix and would fail a filterwarnings=error
# run, so they are silenced for this import only.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasn1.type import univ
    from pysnmp.carrier.asyncio.dgram import udp
    from pysnmp.entity import config
    from pysnmp.entity.rfc3413 import cmdgen
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        UsmUserData,
        usm3DESEDEPrivProtocol,
        usmAesBlumenthalCfb192Protocol,
        usmAesBlumenthalCfb256Protocol,
        usmAesCfb128Protocol,
        usmAesCfb192Protocol,
        usmAesCfb256Protocol,
        usmDESPrivProtocol,
        usmHMAC128SHA224AuthProtocol,
        usmHMAC192SHA256AuthProtocol,
        usmHMAC256SHA384AuthProtocol,
        usmHMAC384SHA512AuthProtocol,
        usmHMACMD5AuthProtocol,
        usmHMACSHAAuthProtocol,
        usmNoAuthProtocol,
        usmNoPrivProtocol,
    )
    from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
    from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds, MibViewControllerManager
    from pysnmp.proto import errind, rfc1902, rfc1905

from probes.base import FailureReason, ProbeResult
from probes.errors import SnmpError
from probes.snmp.answers import LastAnswers, get_values, timeout_detail
from probes.snmp.ber import GetTemplate
from probes.snmp.fastget import FastGet
from probes.snmp.oids import SYS_UPTIME, under
from probes.snmp.transport import StampedUdpTransport
from probes.timing import LoopWatch, tolerance

Version = Literal["v1", "v2c", "v3"]
Value = int | str

AUTH_PROTOCOLS: dict[str, Any] = {
    "none": usmNoAuthProtocol,
    "md5": usmHMACMD5AuthProtocol,
    "sha": usmHMACSHAAuthProtocol,
    "sha224": usmHMAC128SHA224AuthProtocol,
    "sha256": usmHMAC192SHA256AuthProtocol,
    "sha384": usmHMAC256SHA384AuthProtocol,
    "sha512": usmHMAC384SHA512AuthProtocol,
}
# net-snmp's AES192/AES256 extend the key the Blumenthal way; Cisco's ("C") the Reeder way.
PRIV_PROTOCOLS: dict[str, Any] = {
    "none": usmNoPrivProtocol,
    "des": usmDESPrivProtocol,
    "3des": usm3DESEDEPrivProtocol,
    "aes": usmAesCfb128Protocol,
    "aes128": usmAesCfb128Protocol,
    "aes192": usmAesBlumenthalCfb192Protocol,
    "aes256": usmAesBlumenthalCfb256Protocol,
    "aes192c": usmAesCfb192Protocol,
    "aes256c": usmAesCfb256Protocol,
}
# Protocols broken enough that a config using them gets a warning (still accepted:
# old appliances offer nothing else).
WEAK_PROTOCOLS = frozenset({"md5", "des", "3des"})

# Error indications that mean "your v3 credentials are wrong", not "no answer".
_AUTH_INDICATIONS: dict[type[Any], str] = {
    errind.WrongDigest: "wrong auth password or protocol (the agent reported wrongDigest)",
    errind.UnknownUserName: "the agent does not know this user (unknownUserName)",
    errind.UnknownSecurityName: "unknown security name",
    errind.UnsupportedSecurityLevel: "the agent does not allow this security level for the user",
    errind.AuthenticationFailure: "authentication failure",
    errind.AuthenticationError: "authentication error",
    errind.DecryptionError: "the response could not be decrypted: wrong privacy password or protocol",
    errind.NotInTimeWindow: "not in time window (engine boots/time out of step)",
    errind.UnsupportedAuthProtocol: "auth protocol not supported",
    errind.UnsupportedPrivProtocol: "privacy protocol not supported",
}
_MISSING = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance)
_END_OF_COLUMN = (rfc1905.EndOfMibView, *_MISSING)
TIMER_STEP = 0.1  # pysnmp's timer resolution: finer per-attempt timeouts mean nothing
_LCD = CommandGeneratorLcdConfigurator()
_VARBINDS = CommandGeneratorVarBinds()


class _Resolved(UdpTransportTarget):  # type: ignore[misc]  # pysnmp is untyped
    """A target whose address `SnmpClient._address` already resolved."""

    async def _resolve_address(self, transportAddr: tuple[str, int]) -> tuple[str, int]:
        return transportAddr


@dataclass(frozen=True, slots=True)
class _Answer:
    """What came back for one request: pysnmp's callback, or our deadline (`silent`)."""

    indication: Any = None
    status: Any = 0
    index: Any = 0
    varbinds: Any = ()
    arrival: float = 0.0
    silent: bool = False
    emptied: bool = True  # our socket's queue was read to the end before judging


@dataclass(frozen=True, slots=True)
class SnmpAuth:
    """Credentials for one agent. Secret fields are left out of repr (and so of logs)."""

    version: Version = "v2c"
    community: str = field(default="public", repr=False)
    user: str = ""
    auth_protocol: str = "none"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "none"
    priv_key: str = field(default="", repr=False)

    @property
    def level(self) -> str:
        if self.version != "v3":
            return "community"
        if self.auth_protocol == "none":
            return "noAuthNoPriv"
        return "authNoPriv" if self.priv_protocol == "none" else "authPriv"

    def hlapi(self) -> Any:
        if self.version != "v3":
            return CommunityData(self.community, mpModel=0 if self.version == "v1" else 1)
        return UsmUserData(
            self.user,
            self.auth_key or None,
            self.priv_key or None,
            authProtocol=AUTH_PROTOCOLS[self.auth_protocol],
            privProtocol=PRIV_PROTOCOLS[self.priv_protocol],
        )


@dataclass(frozen=True, slots=True)
class SnmpEndpoint:
    """Where and how to ask: agent address, credentials and retries.

    The per-attempt timeout is not configured separately: the check's timeout
    (the deadline) is split evenly over the attempts, so the last retry still
    has its full share before the runner gives up.
    """

    host: str
    port: int
    auth: SnmpAuth
    retries: int = 1

    @property
    def device(self) -> str:
        """The label a dashboard groups by: host, plus the port when it is not 161."""
        return self.host if self.port == 161 else f"{self.host}:{self.port}"


def to_value(value: Any) -> Value:
    """A pysnmp value as a plain int or str (numbers stay numbers, strings are decoded)."""
    if isinstance(value, rfc1902.IpAddress):
        return str(value.prettyPrint())
    if isinstance(value, univ.Integer):  # Integer32, Gauge32, Counter32/64, TimeTicks...
        return int(value)
    if isinstance(value, univ.OctetString):
        raw = bytes(value.asOctets())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + raw.hex()
    return str(value.prettyPrint())


class SnmpClient:
    """One SnmpEngine for the whole daemon, and the request helpers probes use."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._wire: StampedUdpTransport | None = None
        self._targets: dict[tuple[str, int, float, int], Any] = {}
        self._addresses: dict[tuple[str, int], asyncio.Future[tuple[str, int]]] = {}
        self._auth: dict[SnmpAuth, Any] = {}
        self.answers = LastAnswers()
        self._fast = FastGet()  # v1/v2c GETs, pre-encoded (probes/snmp/ber.py)
        self._templates: dict[tuple[str, str, tuple[str, ...]], GetTemplate] = {}
        self.watch = LoopWatch()  # how late our loop (and so pysnmp's timers) runs

    def prepare(self) -> None:
        """Create the engine now (on the running loop) rather than in the first poll:
        the daemon calls this when it builds its SNMP probes."""
        _ = self.engine

    @property
    def engine(self) -> Any:
        if self._engine is None:
            engine = SnmpEngine()
            # The first OID pysnmp resolves attaches pysmi's MIB compiler (if installed),
            # which emits pysmi's deprecation warnings: do it once, here, silenced.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                mibs = MibViewControllerManager.get_mib_view_controller(engine.cache)
                ObjectIdentity(SYS_UPTIME).resolve_with_mib(mibs)
            wire = StampedUdpTransport(asyncio.get_running_loop()).open_client_mode()
            config.add_transport(engine, udp.DOMAIN_NAME, wire)  # pysnmp's setup reuses it
            self._engine, self._wire = engine, wire
            self.watch.start()
        return self._engine

    @property
    def socket_drops(self) -> int:
        """Datagrams our SNMP sockets dropped because we read too slowly (for metrics)."""
        return (0 if self._wire is None else self._wire.drops()) + self._fast.drops()

    async def close(self) -> None:
        """Close the engine's socket and timer task (idempotent)."""
        engine, self._engine, self._wire = self._engine, None, None
        self._fast.close()
        self._templates.clear()
        self._targets.clear()
        self._addresses.clear()
        self._auth.clear()
        self.watch.stop()
        if engine is not None:
            engine.close_dispatcher()
            await asyncio.sleep(0)  # let the cancelled timer task finish

    async def _target(self, ep: SnmpEndpoint, deadline: float) -> Any:
        # pysnmp keeps one target-address row per distinct timeout: rounding to
        # 100 ms keeps that set small however the deadlines fall.
        remaining = deadline - asyncio.get_running_loop().time()
        attempt = max(TIMER_STEP, round(remaining / (ep.retries + 1) / TIMER_STEP) * TIMER_STEP)
        key = (ep.host, ep.port, attempt, ep.retries)
        target = self._targets.get(key)
        if target is None:
            address = await self._address(ep)
            target = await _Resolved.create(address, timeout=attempt, retries=ep.retries)
            self._targets[key] = target
        return target

    async def _address(self, ep: SnmpEndpoint) -> tuple[str, int]:
        """The agent's IPv4 address: an IP literal as it is, a name resolved once for
        every check on it (pysnmp would ask the resolver's thread pool again for every
        target, and under load that queue, not the agent, would decide whether a poll
        times out)."""
        key = (ep.host, ep.port)
        lookup = self._addresses.get(key)
        if lookup is None:
            try:
                ip = str(ipaddress.IPv4Address(ep.host))
            except ValueError:
                lookup = asyncio.ensure_future(self._resolve(ep))
            else:
                lookup = asyncio.get_running_loop().create_future()
                lookup.set_result((ip, ep.port))
            self._addresses[key] = lookup
        try:
            return await asyncio.shield(lookup)
        except SnmpError:
            self._addresses.pop(key, None)  # asked again next time
            raise

    @staticmethod
    async def _resolve(ep: SnmpEndpoint) -> tuple[str, int]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                ep.host, ep.port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
        except (OSError, UnicodeError) as exc:
            raise SnmpError(FailureReason.DNS, f"cannot resolve {ep.host!r}: {exc}") from None
        return str(infos[0][4][0]), ep.port

    def _auth_data(self, auth: SnmpAuth) -> Any:
        data = self._auth.get(auth)
        if data is None:
            data = self._auth[auth] = auth.hlapi()
        return data

    async def _request(
        self, ep: SnmpEndpoint, deadline: float, oids: Sequence[str], *,
        bulk: int | None = None, getnext: bool = False,
    ) -> tuple[list[tuple[str, Any]], float]:
        """Send one GET, GETNEXT or GETBULK (pysnmp retries inside); judge the answer by
        when it arrived and classify every kind of failure."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        if self._engine is None:
            # The first use loads pysnmp's MIB view (about a second of our time, not the
            # agent's): the poll's budget starts after it.
            self.prepare()
            setup = loop.time() - started
            started, deadline = started + setup, deadline + setup
        engine = self.engine
        wire = self._wire
        assert wire is not None
        target = await self._target(ep, deadline)
        address, _ = _LCD.configure(engine, self._auth_data(ep.auth), target, b"")
        varbinds = _VARBINDS.make_varbinds(engine.cache, tuple(
            ObjectType(ObjectIdentity(o)) for o in oids))
        waiter: asyncio.Future[_Answer] = loop.create_future()

        def on_answer(_engine: Any, _handle: Any, indication: Any, status: Any, index: Any,
                      var_binds: Any, _ctx: Any) -> None:
            if not waiter.done():
                arrival = wire.delivering if wire.delivering is not None else loop.time()
                emptied = not wire.backlog
                waiter.set_result(_Answer(indication, status, index, var_binds, arrival,
                                          emptied=emptied))

        t0, drops = loop.time(), wire.drops()
        if t0 >= deadline and t0 - started > tolerance(deadline - started):
            raise SnmpError(FailureReason.TIMEOUT, f"not judged: our daemon reached this poll of"
                            f" {ep.device} only {t0 - started:.2f} s after it began, past its"
                            " deadline (overloaded); this says nothing about the agent",
                            inconclusive=True)
        if bulk is not None:
            cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(
                engine, address, None, b"", 0, bulk, varbinds, on_answer, None)
        elif getnext:
            cmdgen.NextCommandGeneratorSingleRun().send_varbinds(
                engine, address, None, b"", varbinds, on_answer, None)
        else:
            cmdgen.GetCommandGenerator().send_varbinds(
                engine, address, None, b"", varbinds, on_answer, None)
        timer = loop.call_at(deadline, self._at_deadline, waiter, wire)
        try:
            answer = await waiter
        finally:
            timer.cancel()
        if answer.silent or isinstance(answer.indication, errind.RequestTimedOut):
            raise self._silence(ep, target, started, deadline, wire.drops() - drops,
                                answer.emptied)
        latency = max(0.0, answer.arrival - t0)
        if answer.arrival > deadline:
            raise SnmpError(FailureReason.TIMEOUT, f"the answer of {ep.device} arrived"
                            f" {(answer.arrival - deadline) * 1000:.0f} ms after the deadline")
        if answer.indication is not None:
            raise self._indication_error(ep, answer.indication, latency,
                                         self.answers.ago(ep, loop.time()))
        self.answers.answered(ep, answer.arrival)
        pairs = [(str(oid), value) for oid, value in answer.varbinds]
        status, index = answer.status, answer.index
        if status:
            name = str(status.prettyPrint()) if hasattr(status, "prettyPrint") else str(status)
            at = pairs[int(index) - 1][0] if index and 0 < int(index) <= len(pairs) else "?"
            if name == "noSuchName":  # SNMPv1's way of saying noSuchObject
                raise SnmpError(
                    FailureReason.NO_SUCH_OBJECT, f"{ep.device} has no object {at} (noSuchName)", latency
                )
            if name in ("authorizationError", "noAccess"):
                raise SnmpError(
                    FailureReason.AUTH, f"{ep.device} refused access to {at} ({name})", latency
                )
            raise SnmpError(FailureReason.STATUS, f"{ep.device} answered {name} for {at}", latency)
        return pairs, latency

    @staticmethod
    def _at_deadline(waiter: asyncio.Future[_Answer], wire: StampedUdpTransport) -> None:
        """Read what already arrived; if our answer is not among it, report silence."""
        if waiter.done():
            return
        emptied = wire.drain()
        if not waiter.done():
            waiter.set_result(_Answer(silent=True, emptied=emptied))

    def _silence(self, ep: SnmpEndpoint, target: Any, started: float, deadline: float,
                 dropped: int, emptied: bool) -> SnmpError:
        """No answer: the agent's timeout, unless our daemon may have caused it."""
        ours = []
        if dropped > 0:
            ours.append(f"our socket dropped {dropped} datagram(s) meanwhile")
        if not emptied:
            ours.append("answers were still queued on our socket")
        late = self.watch.lateness_since(started)
        if late > tolerance(deadline - started):
            ours.append(f"our daemon (which runs the retries) lagged {late:.2f} s")
        if ours:
            return SnmpError(FailureReason.TIMEOUT, f"not judged: no SNMP answer from {ep.device}"
                             f" within {deadline - started:.3g}s, but {'; '.join(ours)}"
                             " (overloaded); this says nothing about the agent",
                             inconclusive=True)
        self._forget_engine(ep, target)
        ago = self.answers.ago(ep, asyncio.get_running_loop().time())
        return SnmpError(FailureReason.TIMEOUT, timeout_detail(ep, deadline - started, ago))

    def _forget_engine(self, ep: SnmpEndpoint, target: Any) -> None:
        """Drop the agent's discovered SNMPv3 engine ID after it stopped answering.

        pysnmp caches it per address for 5 minutes; an agent that restarts
        with a new engine ID (net-snmp without a fixed `engineID` does) then
        answers every request with a report pysnmp discards, so the check
        would stay down for minutes after the device is back. Rediscovery
        costs one extra round trip on the next poll. The cache is private to
        pysnmp, hence the defensive lookup: if it moves, we only lose this.
        """
        if ep.auth.version != "v3" or self._engine is None or target is None:
            return
        for model in self._engine.message_processing_subsystems.values():
            cache = getattr(model, "_SnmpV3MessageProcessingModel__engineIdCache", None)
            if not isinstance(cache, dict):
                continue
            address = tuple(target.transport_address)
            for key in [k for k in cache if tuple(k[1])[:2] == address[:2]]:
                del cache[key]

    @staticmethod
    def _indication_error(ep: SnmpEndpoint, indication: Any, latency: float,
                          answered_ago: float | None) -> SnmpError:
        if isinstance(indication, errind.RequestTimedOut):
            return SnmpError(FailureReason.TIMEOUT, timeout_detail(ep, latency, answered_ago))
        for kind, text in _AUTH_INDICATIONS.items():
            if isinstance(indication, kind):
                who = f"user {ep.auth.user!r}" if ep.auth.version == "v3" else ep.auth.version
                return SnmpError(
                    FailureReason.AUTH, f"SNMPv3 {who} at {ep.device}: {text}", latency
                )
        return SnmpError(FailureReason.NETWORK, f"SNMP request to {ep.device} failed: {indication}")

    async def get(
        self, ep: SnmpEndpoint, oids: Sequence[str], deadline: float
    ) -> tuple[dict[str, Value], float]:
        """GET scalars; any missing one fails the whole request with `no_such_object`.

        v1/v2c go out pre-encoded (`_fast_get`); v3 through pysnmp."""
        if ep.auth.version != "v3":
            return await self._fast_get(ep, tuple(oids), deadline)
        pairs, latency = await self._request(ep, deadline, oids)
        out: dict[str, Value] = {}
        for oid, value in pairs:
            if isinstance(value, _MISSING):
                kind = "noSuchInstance" if isinstance(value, rfc1905.NoSuchInstance) else "noSuchObject"
                raise SnmpError(
                    FailureReason.NO_SUCH_OBJECT,
                    f"{ep.device} has no object {oid} ({kind}): check the OID and the agent's view",
                    latency,
                )
            out[oid] = to_value(value)
        return out, latency

    async def _fast_get(self, ep: SnmpEndpoint, oids: tuple[str, ...], deadline: float
                        ) -> tuple[dict[str, Value], float]:
        """A v1/v2c GET without pysnmp, judged exactly as `_request` judges one."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.watch.start()
        key = (ep.auth.version, ep.auth.community, oids)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = GetTemplate(ep.auth.version, ep.auth.community,
                                                          oids)
        address = await self._address(ep)
        t0, drops = loop.time(), self._fast.drops()
        if t0 >= deadline and t0 - started > tolerance(deadline - started):
            raise SnmpError(FailureReason.TIMEOUT, f"not judged: our daemon reached this poll of"
                            f" {ep.device} only {t0 - started:.2f} s after it began, past its"
                            " deadline (overloaded); this says nothing about the agent",
                            inconclusive=True)
        remaining = deadline - t0
        attempt = max(TIMER_STEP, round(remaining / (ep.retries + 1) / TIMER_STEP) * TIMER_STEP)
        answer = await self._fast.request(template, address, ep.retries, attempt, deadline)
        if answer.response is None:
            raise self._silence(ep, None, started, deadline, self._fast.drops() - drops,
                                answer.emptied)
        latency = max(0.0, answer.arrival - t0)
        if answer.arrival > deadline:
            raise SnmpError(FailureReason.TIMEOUT, f"the answer of {ep.device} arrived"
                            f" {(answer.arrival - deadline) * 1000:.0f} ms after the deadline")
        self.answers.answered(ep, answer.arrival)
        return get_values(ep, answer.response, latency)

    async def walk(
        self,
        ep: SnmpEndpoint,
        columns: Sequence[str],
        deadline: float,
        *,
        max_repetitions: int = 25,
        max_rows: int = 10_000,
    ) -> tuple[dict[str, dict[str, Value]], float]:
        """Walk table columns side by side with GETBULK (GETNEXT for v1).

        Returns {column: {row index: value}} and the summed request latency.
        Bounded: at most `max_rows` rows per column, and a request budget
        derived from it, so a misbehaving agent cannot keep us looping.
        """
        rows: dict[str, dict[str, Value]] = {c: {} for c in columns}
        cursor = {c: c for c in columns}
        active = list(columns)
        total = 0.0
        per_request = 1 if ep.auth.version == "v1" else max_repetitions
        budget = max_rows // per_request + 2
        for _ in range(budget):
            if not active:
                break
            oids = [cursor[c] for c in active]
            if ep.auth.version == "v1":
                pairs, latency = await self._walk_v1(ep, deadline, oids)
            else:
                pairs, latency = await self._request(ep, deadline, oids, bulk=per_request)
            total += latency
            done: set[str] = set()
            for i, (oid, value) in enumerate(pairs):
                column = active[i % len(active)]
                if column in done:
                    continue
                if not under(oid, column) or isinstance(value, _END_OF_COLUMN):
                    done.add(column)
                    continue
                if len(rows[column]) >= max_rows:
                    done.add(column)
                    continue
                rows[column][oid[len(column) + 1 :]] = to_value(value)
                cursor[column] = oid
            if not pairs:
                break
            active = [c for c in active if c not in done]
        return rows, total

    async def _walk_v1(
        self, ep: SnmpEndpoint, deadline: float, oids: list[str]
    ) -> tuple[list[tuple[str, Any]], float]:
        try:
            return await self._request(ep, deadline, oids, getnext=True)
        except SnmpError as exc:
            if exc.reason is FailureReason.NO_SUCH_OBJECT:  # v1 GETNEXT past the end of the MIB
                return [], exc.latency or 0.0
            raise


def failed(exc: SnmpError) -> ProbeResult:
    """The probe result for a classified request failure (inconclusive when it was ours)."""
    if exc.inconclusive:
        return ProbeResult.not_judged(exc.detail, exc.latency)
    return ProbeResult.failure(exc.reason, exc.detail, exc.latency)


def percent(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"
