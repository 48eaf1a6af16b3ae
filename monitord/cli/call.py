"""`monitord call sip:USER@HOST[:PORT]`: place one synthetic call from the shell.

The same probe as a `sip_call` check, with its own sockets, printing the
figures a KPI dispute turns on (set-up time, loss, jitter, RTT, MOS) and the
failure reason. The password is read from a file (`--password-file`), never
taken on the command line, where `ps` and shell history would show it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from monitord.cli.args import add_duration_option, handles, read_secret
from monitord.cli.exitcodes import ExitCode
from monitord.cli.output import result_line

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    p = sub.add_parser("call", help="place one synthetic call and print its KPIs")
    p.add_argument("target", help="sip:USER@HOST[:PORT][;transport=udp|tcp|tls] or sips:...")
    p.add_argument("--user", help="digest user name (needs --password-file)")
    p.add_argument("--password-file", help="file holding the digest password")
    add_duration_option(p, "--duration", "5s", "how long to send and receive media")
    add_duration_option(p, "--answer-timeout", "10s", "CANCEL when nobody answered by then")
    p.add_argument("--codec", choices=["PCMU", "PCMA"], help="offer only this G.711 law")
    p.add_argument("--far-end", choices=["any", "echo", "answer_point"], default="any",
                   help="what answers: answer_point (monitord responder --media tone) makes"
                   " our own signal coming back a fault")
    p.add_argument("--jitter-buffer", choices=["adaptive", "fixed"], default="adaptive",
                   help="receiver model for MOS: late packets count as lost")
    add_duration_option(p, "--jitter-buffer-delay", "40ms", "its nominal depth")
    p.add_argument("--dtmf", metavar="DIGITS", help="send these RFC 4733 digits, 0.5 s apart")
    add_duration_option(p, "--dtmf-start", "1s", "when the first digit goes")
    p.add_argument("--require-dtmf", action="store_true",
                   help="fail unless the digits come back (answer point, echo)")
    p.add_argument("--ca-file", help="CA certificates to verify a TLS far end with")
    handles(p, run)


def run(args: argparse.Namespace) -> int:
    from probes.errors import ProbeError
    from probes.quality.jitterbuffer import JitterBufferKind, JitterBufferSettings
    from probes.rtp.g711 import Law
    from probes.sip.callprobe import CallProbeSettings, SipCallProbe
    from probes.sip.digest import Credentials
    from probes.sip.oneshot import run_once
    from probes.sip.tls import TlsSettings
    from probes.sip.uri import SipUri
    from probes.sip.verdict import FarEnd

    if (args.user is None) != (args.password_file is None):
        print("monitord call: --user and --password-file go together", file=sys.stderr)
        return ExitCode.USAGE
    try:
        credentials = None
        if args.user is not None:
            password = read_secret("call", "--password-file", args.password_file)
            credentials = Credentials(args.user, password)
        settings = CallProbeSettings(
            SipUri.parse(args.target), duration=args.duration, answer_timeout=args.answer_timeout,
            codecs=(Law(args.codec),) if args.codec else (Law.PCMU, Law.PCMA),
            credentials=credentials, far_end=FarEnd(args.far_end),
            jitter_buffer=JitterBufferSettings(JitterBufferKind(args.jitter_buffer),
                                               nominal=args.jitter_buffer_delay,
                                               minimum=min(0.020, args.jitter_buffer_delay)),
            dtmf=tuple((d, args.dtmf_start + 0.5 * i) for i, d in enumerate(args.dtmf or "")),
            require_dtmf=args.require_dtmf,
            tls=TlsSettings(ca_file=args.ca_file) if args.ca_file else None,
        )
    except (ValueError, ProbeError) as exc:
        print(f"monitord call: {exc}", file=sys.stderr)
        return ExitCode.USAGE

    result = asyncio.run(run_once(lambda t: SipCallProbe(settings, t), settings.budget))
    m = result.measurements
    reason = result.reason.value if result.reason else None
    print(result_line(result.ok, args.target, result.detail, reason=reason, latency=result.latency))
    for key, label, scale, unit in (
        ("call_setup_seconds", "set-up time", 1000, "ms"),
        ("call_auth_setup_seconds", "set-up after auth", 1000, "ms"),
        ("call_post_dial_delay_seconds", "post-dial delay", 1000, "ms"),
        ("call_answer_to_media_seconds", "answer to media", 1000, "ms"),
        ("rtp_rx_loss_ratio", "loss (received)", 100, "%"),
        ("rtp_tx_loss_ratio", "loss (sent, far end's RTCP)", 100, "%"),
        ("rtp_rx_jitter_seconds", "jitter (received)", 1000, "ms"),
        ("rtp_rx_effective_loss_ratio", "loss incl. late (received)", 100, "%"),
        ("rtt_seconds", "round trip (mean)", 1000, "ms"),
        ("mos", "MOS (G.107)", 1, ""),
        ("mos_estimated", "MOS, estimated (no RTT)", 1, ""),
        ("audio_rx_gaps", "audio gaps (received)", 1, ""),
        ("audio_tx_gaps", "audio gaps (far end)", 1, ""),
    ):
        if key in m:
            print(f"  {label:28} {m[key] * scale:.2f} {unit}".rstrip())
    measured = result.measured
    from probes.measurements import CallMeasured

    if isinstance(measured, CallMeasured):
        for audio in (measured.audio_rx, measured.audio_tx):
            if audio is not None:
                print(f"  audio {audio.direction:22} {audio.signal} signal, {audio.audible}"
                      f"/{audio.frames} frames audible, {audio.silent} silent")
        if measured.dtmf_sent:
            print(f"  {'DTMF sent / back':28} {measured.dtmf_sent!r} / {measured.dtmf_received!r}")
    return ExitCode.OK if result.ok else ExitCode.FAILED
