"""Issue 17: one CLI convention — durations everywhere, `--config` everywhere, one result
line, and a quiet exit when the reader of stdout has gone."""

from __future__ import annotations

import argparse
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitord.cli.args import duration
from monitord.cli.exitcodes import ExitCode
from monitord.cli.main import build_parser, main
from monitord.cli.output import RESULT_LINE, result_line
from monitord.cli.register import whole_seconds
from probes.base import FailureReason
from tests.unit.cli.conftest import Finished

GOOD = """\
checks:
  - {name: sbc1-udp, type: sip_options, target: "sip:127.0.0.1:5060", interval: 1m}
services:
  - {name: voice, checks: [sbc1-udp], sla_policy: month}
sla_policies:
  - {name: month, target_percent: 99.9}
"""


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                out.extend(_leaves(child, (*path, name)) or [(" ".join((*path, name)), child)])
    return out


LEAVES = _leaves(build_parser())
TIME_WORDS = ("timeout", "duration", "expires", "seconds", "interval", "delay")


# --- durations everywhere ------------------------------------------------------------


def test_every_time_option_takes_the_config_duration_grammar() -> None:
    times = []
    for command, parser in LEAVES:
        for action in parser._actions:
            assert action.type is not float, f"{command} {action.option_strings}: a bare float"
            if set(action.dest.split("_")) & set(TIME_WORDS):
                assert action.type in (duration, whole_seconds), (command, action.dest)
                times.append((command, action))
    assert {c for c, _ in times} >= {"probe", "register", "call", "responder"}
    for command, action in times:
        assert callable(action.type)
        assert action.type("1m") == 60 and action.type("60") == 60, (command, action.dest)
        if action.default is not argparse.SUPPRESS:
            # a string default is read by `type` when the option is absent (argparse)
            default = (action.type(action.default) if isinstance(action.default, str)
                       else action.default)
            assert isinstance(default, int | float) and default > 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2.0), ("500ms", 0.5), ("1m30s", 90.0), ("3", 3.0), ("0.25", 0.25)],
)
def test_duration_option_values(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["2x", "0s", "-1", "nan", "inf", "", "400d"])
def test_bad_durations_are_usage_errors_naming_the_option(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["probe", "sip:127.0.0.1:9", "--timeout", text])
    assert info.value.code == ExitCode.USAGE
    assert "argument --timeout: " in capsys.readouterr().err


@given(st.integers(1, 10**6))
def test_expires_is_whole_seconds_in_any_unit(seconds: int) -> None:
    assert whole_seconds(f"{seconds}s") == seconds == whole_seconds(str(seconds))
    with pytest.raises(argparse.ArgumentTypeError, match="whole number of seconds"):
        whole_seconds(f"{seconds}.5s")


def test_probe_timeout_in_seconds_unit_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    """The reported case: `probe --timeout 2s` failed with "invalid float value"."""
    parser = build_parser()
    args = parser.parse_args(["probe", "sip:127.0.0.1:9", "--timeout", "2s"])
    assert args.timeout == 2.0
    args = parser.parse_args(["responder", "--max-call-seconds", "90"])  # the old spelling
    assert args.max_call_duration == 90.0
    assert parser.parse_args(["responder"]).max_call_duration == 300.0


# --- --config everywhere ---------------------------------------------------------------


def test_config_is_an_option_spelled_the_same_in_every_command() -> None:
    with_config = set()
    for command, parser in LEAVES:
        for action in parser._actions:
            if action.dest == "config":
                assert action.option_strings == ["--config", "-c"], command
                with_config.add(command)
            if not action.option_strings and action.dest in ("config", "file"):
                assert command == "check-config" and "deprecated" in str(action.help), command
    assert with_config >= {"run", "check-config", "sla compute", "report", "maintenance add",
                           "maintenance list", "maintenance delete"}


def test_check_config_positional_still_works_with_a_deprecation_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "monitord.yaml"
    path.write_text(GOOD)
    assert main(["check-config", "--config", str(path)]) == ExitCode.OK
    new = capsys.readouterr()
    assert new.err == ""
    assert main(["check-config", str(path)]) == ExitCode.OK
    old = capsys.readouterr()
    assert old.out == new.out
    assert old.err == (
        "monitord check-config: note: `check-config FILE` is deprecated;"
        " write `check-config --config FILE`, like every other command\n"
    )
    other = tmp_path / "other.yaml"
    other.write_text(GOOD)
    assert main(["check-config", "--config", str(other), str(path)]) == ExitCode.USAGE
    assert "not two different files" in capsys.readouterr().err


def test_check_config_shows_durations_as_they_are_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "monitord.yaml"
    path.write_text(GOOD)
    assert main(["check-config", "-c", str(path)]) == ExitCode.OK
    assert "sbc1-udp: sip_options every 1m, timeout 3s," in capsys.readouterr().out


def test_run_and_check_config_refuse_a_config_without_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sla-only.yaml"
    path.write_text("sla_policies:\n  - {name: month, target_percent: 99.9}\n")
    for argv in (["check-config", "-c", str(path)], ["run", "-c", str(path)]):
        assert main(argv) == ExitCode.FAILED
        assert "no checks: the daemon would watch nothing" in capsys.readouterr().err


def test_sla_compute_takes_an_sla_only_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sla-only.yaml"
    path.write_text("sla_policies:\n  - {name: month, target_percent: 99.9}\n")
    intervals = tmp_path / "i.json"
    intervals.write_text(json.dumps([{"service": "voice", "start": "2026-10-06T10:00:00+00:00",
                                      "end": "2026-10-06T11:00:00+00:00"}]))
    argv = ["sla", "compute", "-c", str(path), "--policy", "month", "--period", "2026-10",
            "--intervals", str(intervals), "--now", "2026-11-01T00:00:00+00:00"]
    assert main(argv) == ExitCode.OK
    out = capsys.readouterr()
    assert out.err == "" and json.loads(out.out)[0]["downtime_seconds"] == 3600  # one shape: a list


# --- one result line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kw", "line"),
    [
        ((True, "sip:h", "SIP 200 OK"), {"latency": 0.00045}, "OK sip:h: SIP 200 OK (latency 0.45 ms)"),
        ((False, "sip:h", "no answer within 2s"), {"reason": "timeout"},
         "FAIL sip:h: timeout: no answer within 2s"),
        ((False, "sip:h", "SIP 503"), {"reason": "status_not_accepted", "latency": 0.012},
         "FAIL sip:h: status_not_accepted: SIP 503 (latency 12.00 ms)"),
        ((False, "sip:h", ""), {}, "FAIL sip:h: failed: -"),
    ],
)  # fmt: skip
def test_result_line(args: tuple[bool, str, str], kw: dict[str, object], line: str) -> None:
    assert result_line(*args, **kw) == line  # type: ignore[arg-type]
    match = RESULT_LINE.match(line)
    assert match is not None and match["target"] == "sip:h"
    assert match["reason"] == kw.get("reason", "failed" if not args[0] else None)


@given(st.booleans(), st.sampled_from(list(FailureReason)), st.text(min_size=1).filter(
    lambda t: "\n" not in t and "\r" not in t and t.strip() == t and t != ""),
    st.none() | st.floats(0, 100))
def test_every_result_line_parses_back(
    ok: bool, reason: FailureReason, detail: str, latency: float | None
) -> None:
    line = result_line(ok, "snmp://h:161/1.3.6", detail, reason=reason.value, latency=latency)
    match = RESULT_LINE.match(line)
    assert match is not None, line
    assert match["target"] == "snmp://h:161/1.3.6"
    assert match["reason"] == (None if ok else reason.value)
    assert match["detail"] == detail or (latency is None and line.endswith(detail))
    if latency is not None:
        assert float(match["latency_ms"]) == pytest.approx(latency * 1000, abs=0.005)


def test_probe_fail_line_against_a_closed_port(capsys: pytest.CaptureFixture[str]) -> None:
    # no peer: a UDP port nobody listens on answers with ICMP port unreachable
    assert main(["probe", "sip:127.0.0.1:9", "--timeout", "1s"]) == ExitCode.FAILED
    (line,) = capsys.readouterr().out.splitlines()
    match = RESULT_LINE.match(line)
    assert match is not None, line
    assert match["reason"] in {r.value for r in FailureReason}


# --- secrets in files: the daemon's warning, in every command -------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["register", "sip:monitor@127.0.0.1:9", "--timeout", "300ms", "--password-file"],
        ["call", "sip:echo@127.0.0.1:9", "--answer-timeout", "300ms", "--duration", "1s",
         "--user", "monitor", "--password-file"],
        ["probe", "snmp://127.0.0.1:9/1.3.6.1.2.1.1.3.0", "--timeout", "300ms", "--retries", "0",
         "--community-file"],
        ["maintenance", "list", "--url", "http://127.0.0.1:9", "--token-file"],
    ],
    ids=["register", "call", "probe-snmp", "maintenance"],
)
def test_a_world_readable_secret_file_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret-s3cret\n")
    secret.chmod(0o644)
    main([*argv, str(secret)])
    err = capsys.readouterr().err
    assert f"{argv[-1]} '{secret}' is readable by every user (chmod 600)" in err
    assert "s3cret" not in err
    secret.chmod(0o600)
    assert secret.stat().st_mode & stat.S_IROTH == 0
    main([*argv, str(secret)])
    assert "readable by every user" not in capsys.readouterr().err


# --- a closed pipe: every command ends quietly with its own status ----------------------


def _closed_pipe_cases(tmp_path: Path) -> list[tuple[list[str], ExitCode]]:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    big = tmp_path / "big.yaml"  # output larger than a pipe's buffer
    big.write_text("checks:\n" + "".join(
        f"  - {{name: c{i}, type: sip_options, target: 'sip:127.0.0.1'}}\n" for i in range(2000)))
    bad = tmp_path / "bad.yaml"
    bad.write_text("checks:\n  - {name: a, type: sip_options, target: 'sip:h', interval: 5}\n")
    intervals = tmp_path / "i.json"
    intervals.write_text(json.dumps([{"service": "voice", "start": "2026-10-06T10:00:00+00:00",
                                      "end": "2026-10-06T11:00:00+00:00"}]))
    return [
        (["--help"], ExitCode.OK),
        (["--version"], ExitCode.OK),
        (["check-config", "--config", str(good)], ExitCode.OK),
        (["check-config", "--config", str(big)], ExitCode.OK),
        (["check-config", str(big)], ExitCode.OK),
        (["check-config", "--config", str(bad)], ExitCode.FAILED),
        (["sla", "compute", "-c", str(good), "--policy", "month", "--period", "2026-10",
          "--intervals", str(intervals), "--format", "html"], ExitCode.OK),
        (["report", "-c", str(good), "--service", "voice", "--period", "2026-10"], ExitCode.ERROR),
        (["probe", "sip:127.0.0.1:9", "--timeout", "500ms"], ExitCode.FAILED),
        (["maintenance", "list", "--url", "http://127.0.0.1:9"], ExitCode.ERROR),
    ]


def test_a_closed_pipe_ends_every_command_quietly_with_its_own_status(
    tmp_path: Path, monitord: Callable[..., Finished], closed_stdout: int
) -> None:
    """`monitord check-config ... | head -1` printed a BrokenPipeError traceback."""
    for argv, code in _closed_pipe_cases(tmp_path):
        done = monitord(argv, stdout=closed_stdout)
        assert done.returncode == code, (argv, done.stderr)
        for noise in ("Traceback", "BrokenPipe", "Exception ignored", "Errno 32"):
            assert noise not in done.stderr, (argv, done.stderr)
