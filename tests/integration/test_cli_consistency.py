"""Issue 17, acceptance: the one-shot commands against real peers print one result-line
format, take durations, show sysUpTime readably, and end quietly on a closed pipe.

Peers: `monitord responder` (our far end, the real CLI process) for OPTIONS and
calls, kamailio as the registrar, net-snmp's snmpd as the agent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitord.cli.output import RESULT_LINE
from probes.base import FailureReason
from tests.integration.peers import (
    SNMPD_COMMUNITY,
    PeerProcess,
    free_port,
    kamailio,
    snmpd,
    udp_answers_options,
)

pytestmark = pytest.mark.integration

REASONS = {r.value for r in FailureReason}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    for name, value in {"community": SNMPD_COMMUNITY, "wrong": "not-the-community",
                        "password": "secret", "bad-password": "guess"}.items():
        (d / name).write_text(value + "\n")
        (d / name).chmod(0o600)
    return d


@pytest.fixture(scope="module")
def far_end(workdir: Path) -> Iterator[int]:
    port = free_port()
    argv = [sys.executable, "-m", "monitord", "responder", "--listen", f"127.0.0.1:{port}",
            "--transport", "udp", "--media", "echo", "--max-call-duration", "30s"]
    proc = PeerProcess(argv, name=f"responder-{port}", cwd=str(workdir),
                       ready=lambda: udp_answers_options(port))
    with proc:
        yield port


@pytest.fixture(scope="module")
def registrar(workdir: Path) -> Iterator[int]:
    port = free_port()
    with kamailio(port, workdir / f"kam-{port}"):
        yield port


@pytest.fixture(scope="module")
def agent(workdir: Path) -> Iterator[int]:
    port = free_port()
    with snmpd(port, workdir / "snmpd"):
        yield port


def cli(*argv: str, stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitord", *argv], stdout=stdout or subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, timeout=60, check=False,
    )


@pytest.fixture
def cases(far_end: int, registrar: int, agent: int, workdir: Path) -> list[tuple[list[str], bool]]:
    """(argv, whether it should succeed) for each one-shot command, OK and FAIL."""
    closed = free_port()
    snmp = f"snmp://127.0.0.1:{agent}/1.3.6.1.2.1.1.3.0"
    return [
        (["probe", f"sip:127.0.0.1:{far_end}", "--timeout", "2s"], True),
        (["probe", f"sip:127.0.0.1:{closed}", "--timeout", "500ms"], False),
        (["register", f"sip:monitor@127.0.0.1:{registrar}", "--timeout", "3s",
          "--password-file", str(workdir / "password")], True),
        (["register", f"sip:monitor@127.0.0.1:{registrar}", "--timeout", "3s",
          "--password-file", str(workdir / "bad-password")], False),
        (["call", f"sip:echo@127.0.0.1:{far_end}", "--duration", "1s",
          "--answer-timeout", "2s"], True),
        (["call", f"sip:echo@127.0.0.1:{closed}", "--duration", "1s",
          "--answer-timeout", "500ms"], False),
        (["probe", snmp, "--community-file", str(workdir / "community"), "--timeout", "2s"], True),
        (["probe", snmp, "--community-file", str(workdir / "wrong"), "--timeout", "300ms",
          "--retries", "0"], False),
    ]


def test_one_result_line_format_for_probe_register_call_and_snmp(
    cases: list[tuple[list[str], bool]],
) -> None:
    for argv, ok in cases:
        proc = cli(*argv)
        shown = f"{' '.join(argv)}\n{proc.stdout}{proc.stderr}"
        assert proc.returncode == (0 if ok else 1), shown
        first, *rest = proc.stdout.splitlines()
        match = RESULT_LINE.match(first)
        assert match is not None, shown
        assert first.startswith("OK " if ok else "FAIL "), shown
        assert match["target"] == argv[1], shown
        if ok:
            assert match["latency_ms"] is not None, shown
        else:
            assert match["reason"] in REASONS, shown
        assert all(line.startswith("  ") for line in rest), shown
        assert proc.stderr == "", shown
    # the reported oddity: "SIP 200 in 0.45 ms SIP 200 OK"
    probe = cli(*cases[0][0]).stdout
    assert probe.count("200") == 1 and re.search(r": SIP 200 OK \(latency \d+\.\d\d ms\)$", probe.strip())


def test_sys_uptime_is_shown_as_time_with_its_ticks(agent: int, workdir: Path) -> None:
    proc = cli("probe", f"snmp://127.0.0.1:{agent}/1.3.6.1.2.1.1.3.0",
               "--community-file", str(workdir / "community"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    value = proc.stdout.splitlines()[1]
    match = re.fullmatch(
        r"  1\.3\.6\.1\.2\.1\.1\.3\.0 = (?:(\d+) days? )?(\d\d):(\d\d):(\d\d)\.(\d\d)"
        r" \(sysUpTime, (\d+) ticks\)", value,
    )
    assert match is not None, value
    days, h, m, s, cs, ticks = (int(g or 0) for g in match.groups())
    assert ((days * 24 + h) * 60 + m) * 60 * 100 + s * 100 + cs == ticks


def test_register_warns_about_a_world_readable_password_file(
    registrar: int, workdir: Path
) -> None:
    loose = workdir / "loose-password"
    loose.write_text("secret\n")
    loose.chmod(0o644)
    proc = cli("register", f"sip:monitor@127.0.0.1:{registrar}", "--password-file", str(loose))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == (
        f"monitord register: warning: --password-file '{loose}' is readable by every user"
        " (chmod 600)\n"
    )


def test_closed_pipe_after_the_first_line_is_quiet(cases: list[tuple[list[str], bool]]) -> None:
    for argv, ok in cases:
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = cli(*argv, stdout=write_end)
        finally:
            os.close(write_end)
        assert proc.returncode == (0 if ok else 1), (argv, proc.stderr)
        assert proc.stderr == "", (argv, proc.stderr)
