"""`type: sip_call` config: its own interval/timeout defaults and the errors it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.config import effective_checks, parse_config
from monitord.errors import ConfigError


def _load(check: str) -> list[str]:
    try:
        parse_config(f"checks:\n  - {check}\n", env={})
    except ConfigError as exc:
        return [line.strip() for line in str(exc).splitlines()[1:]]
    return []


def test_defaults_give_a_call_its_whole_budget() -> None:
    cfg = parse_config(
        'checks:\n  - {name: c, type: sip_call, target: "sip:echo@h", duration: 2s,'
        " answer_timeout: 4s, interval: 30s}\n", env={})
    (check,) = effective_checks(cfg)
    assert (check.interval, check.timeout) == (30.0, 4 + 2 + 3)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ('{name: c, type: sip_call, target: "sip:h"}', "needs the user to call"),
        ('{name: c, type: sip_call, target: "sip:e@h", from_user: "a:b"}',
         "invalid user 'a:b': no spaces, quotes, '<', '>', '@' or ':'"),
        ('{name: c, type: sip_call, target: "sip:e@h", timeout: 5s}',
         "timeout (5s) is shorter than a whole call: answer_timeout + duration + 3s = 18s"),
        ('{name: c, type: sip_call, target: "sip:e@h", auth_user: bob}',
         "auth_user and password_file go together"),
        ('{name: c, type: sip_call, target: "sip:e@h", codec: G729}', "PCMU"),
        ('{name: c, type: sip_call, target: "sip:e@h", far_end: mirror}', "answer_point"),
        ('{name: c, type: sip_call, target: "sip:e@h", dtmf: {digits: "12X"}}',
         "not DTMF digits: 'X' (use 0-9, *, #, A-D)"),
        ('{name: c, type: sip_call, target: "sip:e@h", dtmf: {digits: "12", offsets: [1s]}}',
         "one offset per digit: 2 digits, 1 offsets"),
        ('{name: c, type: sip_call, target: "sip:e@h", dtmf: {digits: "12", interval: 100ms}}',
         "digits need at least 160 ms between starts"),
        ('{name: c, type: sip_call, target: "sip:e@h", duration: 2s, dtmf: {digits: "1",'
         ' start: 3s}}', "a digit at 3s falls outside the 2s of media (duration)"),
        ('{name: c, type: sip_call, target: "sip:e@h", jitter_buffer: {nominal: 300ms}}',
         "an adaptive jitter buffer needs minimum <= nominal <= maximum, got 0.02s, 0.3s,"
         " 0.2s"),
        ('{name: c, type: sip_call, target: "sip:e@h", jitter_buffer: {type: lifo}}', "fixed"),
    ],
)
def test_errors_name_the_problem(check: str, message: str) -> None:
    problems = _load(check)
    assert any(message in p for p in problems), problems


def test_the_audio_path_options_reach_the_probe() -> None:
    from monitord.core.runner import PROBE_FACTORIES, ProbeContext
    from probes.quality.jitterbuffer import JitterBufferKind
    from probes.sip.callprobe import SipCallProbe
    from probes.sip.transport import SipTransports
    from probes.sip.verdict import FarEnd

    cfg = parse_config(
        'checks:\n  - {name: c, type: sip_call, target: "sips:e@h", far_end: answer_point,'
        " jitter_buffer: {type: fixed, nominal: 60ms}, gap_threshold: 200ms,"
        ' dtmf: {digits: "1#", start: 1s, interval: 500ms, require_round_trip: true}}\n',
        env={})
    (check,) = effective_checks(cfg)
    probe = PROBE_FACTORIES["sip_call"](check.config, ProbeContext(sip=SipTransports()))
    assert isinstance(probe, SipCallProbe)
    s = probe.settings
    assert s.target.transport == "tls" and s.far_end is FarEnd.ANSWER_POINT
    assert s.jitter_buffer.kind is JitterBufferKind.FIXED and s.jitter_buffer.nominal == 0.06
    assert s.gap_threshold == 0.2 and s.dtmf == (("1", 1.0), ("#", 1.5)) and s.require_dtmf


def test_a_short_timeout_points_at_the_timeout_not_the_check() -> None:
    """Issue 17: the error said `checks[0] (line 3)`; the field to fix is the timeout."""
    text = (
        "checks:\n  - name: c\n    type: sip_call\n    target: sip:e@h\n"
        "    answer_timeout: 20s\n    timeout: 15s\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.problems == [
        "checks[0].timeout (line 6): timeout (15s) is shorter than a whole call:"
        " answer_timeout + duration + 3s = 28s",
    ]
    with pytest.raises(ConfigError) as info:
        parse_config(text.replace("    timeout: 15s\n", "    auth_user: bob\n"), env={})
    assert info.value.problems == [
        "checks[0].auth_user (line 6): auth_user and password_file go together"
        " (digest authentication)",
    ]


def test_password_comes_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    cfg = parse_config(
        f'checks:\n  - {{name: c, type: sip_call, target: "sip:e@h", auth_user: bob,'
        f" password_file: {secret}}}\n", env={})
    (check,) = effective_checks(cfg)
    assert "s3cret" not in repr(check)


def test_service_call_quality_window_defaults_and_errors() -> None:
    base = 'checks:\n  - {name: c, type: sip_call, target: "sip:e@h"}\nservices:\n'
    cfg = parse_config(base + "  - {name: s, checks: [c]}\n", env={})
    w = cfg.services[0].call_quality
    assert (w.calls, w.window, w.min_calls) == (20, 3600.0, 5)
    cfg = parse_config(base + "  - {name: s, checks: [c], call_quality: {calls: 200,"
                       " window: 30m}}\n", env={})
    assert (cfg.services[0].call_quality.calls, cfg.services[0].call_quality.window) == (200, 1800)
    with pytest.raises(ConfigError, match=r"min_calls \(30\) cannot exceed calls \(20\)"):
        parse_config(base + "  - {name: s, checks: [c], call_quality: {min_calls: 30}}\n", env={})
    with pytest.raises(ConfigError, match="mos"):
        parse_config(base + "  - {name: s, checks: [c], call_quality: {mos: 3}}\n", env={})
