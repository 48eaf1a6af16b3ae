"""Health of the probing machinery itself, as Prometheus series read at scrape time.

What our own sockets threw away and whether the scheduler keeps up are not
findings about any target, but a NOC must see them: a junk flood on the
shared SIP port, a receive buffer that overflows, a daemon with more checks
than its core can probe. Values are read from the live objects when
Prometheus scrapes (a custom collector), so the probe path pays nothing.

Series:
- `monitord_sip_datagrams_received_total`
- `monitord_sip_datagrams_discarded_total{reason}`: malformed, no_transaction,
  stray_request, retransmission (probes/sip/routing.py; RFC 3261 §18.1.2)
- `monitord_sip_stream_malformed_total`: TCP/TLS connections closed because
  they stopped parsing
- `monitord_socket_receive_drops_total{socket}`: datagrams the kernel dropped
  on our `sip` or `snmp` socket because we read too slowly
- `monitord_scheduler_overloaded`: 1 while the scheduler cannot keep up
- `monitord_scheduler_recent_worst_lateness_seconds`: worst start lateness in
  the scheduler's load window
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from monitord.core.scheduler import Load
from probes.sip.routing import Discard
from probes.sip.transport import WireStats

__all__ = ["ProbingCollector"]


class ProbingCollector(Collector):
    """Register once on the daemon's registry: `registry.register(ProbingCollector(...))`.

    Each source is optional (a daemon without SNMP checks has no SNMP socket):
    `sip` gives `SipTransports.stats`, `snmp_drops` `SnmpClient.socket_drops`,
    `load` `Scheduler.load`.
    """

    def __init__(
        self,
        sip: Callable[[], WireStats] | None = None,
        snmp_drops: Callable[[], int] | None = None,
        load: Callable[[], Load] | None = None,
    ) -> None:
        self._sip, self._snmp_drops, self._load = sip, snmp_drops, load

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        drops = CounterMetricFamily(
            "monitord_socket_receive_drops",
            "Datagrams the kernel dropped on our own socket because the daemon read too slowly.",
            labels=["socket"])
        if self._sip is not None:
            stats = self._sip()
            yield CounterMetricFamily(
                "monitord_sip_datagrams_received", "Datagrams read from the shared SIP UDP sockets.",
                value=stats.received)
            discarded = CounterMetricFamily(
                "monitord_sip_datagrams_discarded",
                "SIP messages that went nowhere (RFC 3261 §18.1.2), by reason.", labels=["reason"])
            for reason in Discard:
                discarded.add_metric([reason.value], stats.discarded.get(reason, 0))
            yield discarded
            yield CounterMetricFamily(
                "monitord_sip_stream_malformed",
                "TCP/TLS connections closed because the peer's bytes stopped parsing.",
                value=stats.malformed_streams)
            drops.add_metric(["sip"], stats.socket_drops)
        if self._snmp_drops is not None:
            drops.add_metric(["snmp"], self._snmp_drops())
        if self._sip is not None or self._snmp_drops is not None:
            yield drops
        if self._load is not None:
            load = self._load()
            yield GaugeMetricFamily(
                "monitord_scheduler_overloaded",
                "1 while the scheduler cannot keep up (slots skipped or probes starting late).",
                value=1 if load.overloaded else 0)
            yield GaugeMetricFamily(
                "monitord_scheduler_recent_worst_lateness_seconds",
                "Worst probe start lateness over the scheduler's load window.",
                value=load.worst_lateness)
