"""The probing machinery's own health series, as Prometheus and promtool read them."""

from __future__ import annotations

from types import MappingProxyType

from prometheus_client import CollectorRegistry, generate_latest

from monitord.core.scheduler import Load
from monitord.sinks.probing import ProbingCollector
from probes.sip.routing import Discard
from probes.sip.transport import SipTransports, WireStats


def test_discards_drops_and_overload_are_exported_with_every_reason_present() -> None:
    stats = WireStats(received=12, discarded=MappingProxyType({Discard.MALFORMED: 5}),
                      socket_drops=3, malformed_streams=1, open_streams=0)
    load = Load(overloaded=True, since=1.0, skipped_slots=7, worst_lateness=2.5, window=60.0)
    registry = CollectorRegistry()
    registry.register(ProbingCollector(sip=lambda: stats, snmp_drops=lambda: 9, load=lambda: load))
    text = generate_latest(registry).decode()
    assert 'monitord_sip_datagrams_discarded_total{reason="malformed"} 5.0' in text
    assert 'monitord_sip_datagrams_discarded_total{reason="no_transaction"} 0.0' in text
    assert "monitord_sip_datagrams_received_total 12.0" in text
    assert 'monitord_socket_receive_drops_total{socket="sip"} 3.0' in text
    assert 'monitord_socket_receive_drops_total{socket="snmp"} 9.0' in text
    assert "monitord_scheduler_overloaded 1.0" in text
    assert "monitord_scheduler_recent_worst_lateness_seconds 2.5" in text


async def test_it_reads_live_transports(transports: SipTransports) -> None:
    registry = CollectorRegistry()
    registry.register(ProbingCollector(sip=lambda: transports.stats))
    assert registry.get_sample_value("monitord_sip_datagrams_discarded_total",
                                     {"reason": "stray_request"}) == 0
    assert registry.get_sample_value("monitord_scheduler_overloaded") is None  # no scheduler given
