"""Publish every recorded event to MQTT from the durable outbox, at least once.

The store writes an outbox row in the same transaction as each state change
(monitord/storage/outbox.py); this publisher only reads the outbox queue in
`seq` order (`OutboxQueue`: the delivery side of the store, never its writer)
and drops rows after the broker's PUBACK (QoS 1). So a broker outage
just lets rows wait, and a daemon crash loses nothing: the next run sends
what was not acknowledged. The price is an occasional duplicate, which
consumers drop by `id`.

Topics (`<prefix>` defaults to `monitord`):
- `<prefix>/<site>/events/<kind>`: one message per event, QoS 1, not retained.
- `<prefix>/<site>/state/<check|service>/<name>`: retained current state,
  announced with each change and restated for every check and service on
  each (re)connect (monitord/sinks/retained.py).
- `<prefix>/<site>/status`: retained `online`, and `offline` as the will.
Payloads are versioned JSON described by `schema/event-v1.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt
import structlog

from monitord.config.alerting import MqttConfig
from monitord.core.stream import Committed, Reconfigured
from monitord.core.supervisor import TaskSpec
from monitord.errors import StorageError
from monitord.sinks.backoff import Backoff
from monitord.sinks.health import MqttMetrics
from monitord.sinks.retained import StateBook
from monitord.storage.interface import OutboxQueue
from monitord.storage.outbox import iso
from monitord.storage.records import OutboxRecord

log = structlog.get_logger("monitord.mqtt")

SCHEMA_VERSION = 1
# CONNACK refusals that only the operator can fix: MQTT 3.1.1 codes 4/5 and the
# MQTT 5 reason codes paho maps them to (0x86 bad user name or password, 0x87 not authorized)
AUTH_REFUSED = frozenset({4, 5, 134, 135})
MAX_BATCHES_PER_DRAIN = 50  # then yield to the wake-up loop; more rows are read next turn


def topic(prefix: str, site: str, row: OutboxRecord) -> str:
    if row.channel == "state":
        return f"{prefix}/{site}/state/{row.level}/{row.subject}"
    return f"{prefix}/{site}/events/{row.kind}"


def message(site: str, row: OutboxRecord) -> bytes:
    """The versioned envelope around a row's own fields."""
    body: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "id": row.event_id,
        "seq": row.seq,
        "site": site,
        "kind": row.kind,
        "at": iso(row.at),
    }
    body.update(json.loads(row.payload))
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class Publisher(Protocol):
    """What the drain needs from a connected client: aiomqtt.Client satisfies it."""

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                      *, timeout: float | None = None) -> None: ...


@dataclass
class DrainProgress:
    """What a publisher has seen across drains: the last acknowledged row and whether
    the outbox was found empty (everything older was published)."""

    last_seq: int = 0
    emptied: bool = False


async def drain(store: OutboxQueue, client: Publisher, cfg: MqttConfig, site: str,
                metrics: MqttMetrics | None = None,
                progress: DrainProgress | None = None) -> int:
    """Publish waiting rows in order; return how many were acknowledged.

    Rows are deleted batch by batch up to the last PUBACK, also when the
    connection breaks halfway, so a retry resends only what was not taken.
    """
    sent = 0
    if progress is not None:
        progress.emptied = False
    for _ in range(MAX_BATCHES_PER_DRAIN):
        rows = await store.outbox_pending(cfg.batch)
        if not rows:
            if progress is not None:
                progress.emptied = True
            break
        acked: int | None = None
        try:
            for row in rows:
                try:
                    await client.publish(topic(cfg.topic_prefix, site, row), message(site, row),
                                         qos=1, retain=row.channel == "state",
                                         timeout=cfg.publish_timeout)
                except Exception:
                    if metrics is not None:
                        metrics.published(False)
                    raise
                if metrics is not None:
                    metrics.published(True)
                acked = row.seq
                sent += 1
        finally:
            if acked is not None:
                await store.outbox_done(acked)
                if progress is not None:
                    progress.last_seq = acked
    return sent


def _tls_context(cfg: MqttConfig) -> ssl.SSLContext | None:
    if cfg.tls is None:
        return None
    ctx = ssl.create_default_context(cafile=cfg.tls.ca_file)
    if cfg.tls.cert_file and cfg.tls.key_file:
        ctx.load_cert_chain(cfg.tls.cert_file, cfg.tls.key_file)
    if cfg.tls.insecure:
        ctx.check_hostname = False
    return ctx


def auth_refused(exc: aiomqtt.MqttError) -> bool:
    rc = getattr(exc, "rc", None)
    return getattr(rc, "value", rc) in AUTH_REFUSED


def default_client_id(site: str) -> str:
    """Unique per process: two daemons of one site never kick each other off the broker."""
    return f"monitord-{site}-{socket.gethostname()}-{os.getpid()}"[:128]


def make_client(cfg: MqttConfig, site: str) -> aiomqtt.Client:
    status = f"{cfg.topic_prefix}/{site}/status"
    return aiomqtt.Client(
        cfg.host,
        cfg.port,
        username=cfg.username,
        password=cfg.password_file.get() if cfg.password_file else None,
        identifier=cfg.client_id or default_client_id(site),
        protocol=aiomqtt.ProtocolVersion.V5 if cfg.protocol == "5" else aiomqtt.ProtocolVersion.V311,
        keepalive=max(1, round(cfg.keepalive)),
        timeout=cfg.publish_timeout,
        tls_context=_tls_context(cfg),
        will=aiomqtt.Will(status, b"offline", qos=1, retain=True),
    )


async def _until_lost(serve: Coroutine[Any, Any, None], client: aiomqtt.Client) -> None:
    """Serve until the connection drops, noticed at once (not at the next publish): a broker
    that restarted must get the retained states again even if nothing changes for hours."""
    serving = asyncio.ensure_future(serve)
    watching = asyncio.ensure_future(_disconnected(client))
    try:
        done, _ = await asyncio.wait({serving, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (serving, watching):
            task.cancel()
        await asyncio.gather(serving, watching, return_exceptions=True)
    for task in done:
        task.result()  # raises what ended it (MqttError, StorageError)
    raise aiomqtt.MqttError("the connection to the broker ended")


async def _disconnected(client: aiomqtt.Client) -> None:
    """Returns (raising MqttError) when the client loses its connection; we subscribe to nothing."""
    async for _ in client.messages:
        pass


class MqttSink:
    """Sink: recorded news wakes the publisher; the rows are already in the outbox."""

    def __init__(
        self,
        cfg: MqttConfig,
        site: str,
        store: OutboxQueue,
        *,
        checks: Sequence[str] = (),
        services: Sequence[str] = (),
        client_factory: Callable[[MqttConfig, str], aiomqtt.Client] = make_client,
        metrics: MqttMetrics | None = None,
    ) -> None:
        self._cfg = cfg
        self._metrics = metrics
        self._site = site
        self._store = store
        self._factory = client_factory
        self._wake = asyncio.Event()
        self._wake.set()  # rows left by the previous run go first
        self.states = StateBook(site, checks, services)
        self._progress = DrainProgress()
        self._restate = False  # a connection still owes the restatement
        self.connected = False
        self.published = 0
        self.restated = 0  # restatement rounds published, for tests and logs

    def consume(self, c: Committed) -> None:
        self.states.consume(c)
        if any(isinstance(ev, Reconfigured) for ev in c.events):
            self._restate = True  # added checks get a retained state, removed ones lose theirs
        if self._restate and self.states.ready():
            self._wake.set()
        if not c.recorded:
            return  # its rows are not in the outbox yet: the commit that writes them wakes us
        probe = c.probe
        if c.events or (probe is not None and probe.before.state is not probe.after.state):
            self._wake.set()

    def tasks(self) -> list[TaskSpec]:
        return [("mqtt-publisher", self.run)]

    async def run(self) -> None:
        """Connect, drain, wait; on any broker trouble back off and reconnect. Runs until
        cancelled at shutdown (unacknowledged rows stay in the outbox for the next run)."""
        backoff = Backoff(self._cfg.retry_initial, self._cfg.retry_max)
        where = f"{self._cfg.host}:{self._cfg.port}"
        while True:
            try:
                async with self._factory(self._cfg, self._site) as client:
                    self.connected = True
                    log.info("mqtt_connected", broker=where, after_attempts=backoff.attempts)
                    backoff.reset()
                    await client.publish(f"{self._cfg.topic_prefix}/{self._site}/status",
                                         b"online", qos=1, retain=True,
                                         timeout=self._cfg.publish_timeout)
                    await _until_lost(self._serve(client), client)
            except (aiomqtt.MqttError, StorageError) as exc:  # the outbox keeps every row
                self.connected = False
                delay = backoff.next_delay()
                if isinstance(exc, aiomqtt.MqttError) and auth_refused(exc):
                    # retried all the same: a broker's password file may be fixed at any time
                    log.error("mqtt_auth_refused", broker=where, problem=str(exc),
                              user=self._cfg.username, retry_in=round(delay, 3),
                              attempt=backoff.attempts,
                              hint="check mqtt.username and mqtt.password_file against the broker")
                else:
                    log.warning("mqtt_unavailable", broker=where, problem=str(exc),
                                retry_in=round(delay, 3), attempt=backoff.attempts)
                with contextlib.suppress(StorageError):
                    await self._backlog()  # the rows pile up while the broker is away
                await asyncio.sleep(delay)

    async def _backlog(self) -> None:
        if self._metrics is not None:
            self._metrics.backlog(await self._store.outbox_count())

    async def _serve(self, client: Publisher) -> None:
        self._restate = True
        while True:
            self._wake.clear()
            self.published += await drain(self._store, client, self._cfg, self._site,
                                          self._metrics, self._progress)
            if self._restate and self._progress.emptied and self.states.ready():
                await self._restate_all(client)
            await self._backlog()
            if not self._progress.emptied:
                continue  # more rows than one drain takes: the restatement waits for them
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._cfg.poll_interval)

    async def _restate_all(self, client: Publisher) -> None:
        """Every check's and service's retained state, after everything older was sent."""
        prefix = self._cfg.topic_prefix
        for gone in self.states.clearing(prefix):
            await client.publish(gone, b"", qos=1, retain=True, timeout=self._cfg.publish_timeout)
        for r in list(self.states.restatements(prefix, self._progress.last_seq)):
            await client.publish(r.topic, r.payload, qos=1, retain=True,
                                 timeout=self._cfg.publish_timeout)
        self._restate = False
        self.restated += 1
