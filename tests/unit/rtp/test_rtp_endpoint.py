"""The RTP/RTCP endpoint on loopback: two endpoints talking, and a packet echo.

Short streams (half a second) keep these fast; timing assertions are loose
because the machine is shared with other test runs.
"""

from __future__ import annotations

import asyncio
import socket

from probes.rtp.endpoint import MediaSettings, RtpEndpoint, open_port_pair
from probes.rtp.g711 import Law


def test_port_pair_is_even_and_adjacent() -> None:
    rtp, rtcp = open_port_pair("127.0.0.1")
    with rtp, rtcp:
        port = rtp.getsockname()[1]
        assert port % 2 == 0 and rtcp.getsockname()[1] == port + 1


async def test_two_endpoints_measure_both_directions_and_rtt() -> None:
    a = await RtpEndpoint(rtcp_interval=0.2).open("127.0.0.1")
    b = await RtpEndpoint(rtcp_interval=0.2).open("127.0.0.1")
    try:
        a.start(("127.0.0.1", b.rtp_port), ("127.0.0.1", b.rtcp_port),
                MediaSettings(law=Law.PCMU, payload_type=0, duration=0.6, rtcp_interval=0.2))
        b.start(("127.0.0.1", a.rtp_port), ("127.0.0.1", a.rtcp_port),
                MediaSettings(law=Law.PCMA, payload_type=8, duration=0.6, rtcp_interval=0.2))
        await asyncio.wait_for(a.media_arrived.wait(), 2)
        for _ in range(60):  # bounded: until both sent everything and reports came back
            await asyncio.sleep(0.05)
            if not a.sending and not b.sending and a.report().peer.rtt_samples:
                break
        await asyncio.sleep(0.1)
        ra, rb = a.report(), b.report()
    finally:
        await a.close()
        await b.close()
    assert ra.tx_packets == rb.tx_packets == 30
    assert ra.rx is not None and rb.rx is not None
    # A.1 probation swallows the first packet of a new source.
    assert ra.rx.stats.received >= 29 and ra.rx.stats.lost == 0
    assert rb.rx.stats.received >= 29 and rb.rx.stats.lost == 0
    assert ra.rtt is not None and 0 <= ra.rtt < 0.2
    block = ra.peer.last_block
    assert block is not None and block.cumulative_lost == 0 and ra.peer.reports_about_us >= 1
    assert ra.echo_rtt is None and not ra.own_ssrc_received
    assert ra.pacing_p50 is not None and ra.pacing_p99 is not None
    assert 0 <= ra.pacing_p50 < 0.02


async def test_a_packet_echo_gives_the_round_trip_and_rx_stats() -> None:
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))
    echo.setblocking(False)
    loop = asyncio.get_running_loop()
    loop.add_reader(echo.fileno(), lambda: echo.sendto(*echo.recvfrom(2048)))
    ep = await RtpEndpoint().open("127.0.0.1")
    try:
        port = echo.getsockname()[1]
        ep.start(("127.0.0.1", port), ("127.0.0.1", port),
                 MediaSettings(law=Law.PCMU, payload_type=0, duration=0.4))
        for _ in range(40):
            await asyncio.sleep(0.05)
            if not ep.sending:
                break
        await asyncio.sleep(0.1)
        report = ep.report()
    finally:
        loop.remove_reader(echo.fileno())
        echo.close()
        await ep.close()
    assert report.tx_packets == 20
    assert report.rx is not None and report.rx.stats.lost == 0
    assert report.rx.stats.received >= 19 and report.own_ssrc_received
    assert report.rx.audio.ours >= 19 and report.rx.audio.looped_back
    assert report.echo_rtt is not None and 0 <= report.echo_rtt < 0.1
    assert report.rtt == report.echo_rtt  # no RTCP came back: the echo gives the RTT
    assert report.first_rx_at is not None and report.last_rx_at is not None
