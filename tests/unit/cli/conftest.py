"""Running the real `monitord` command as a subprocess, as a shell or systemd would."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True, slots=True)
class Finished:
    returncode: int
    stderr: str
    wall_seconds: float
    cpu_seconds: float  # user + system of the child alone (os.wait4)
    max_rss_bytes: int


# Forks the command and reports its own rusage on the pipe named in argv[1]. A child forked
# straight from pytest inherits pytest's RSS high-water mark (Linux carries it
# over fork and exec in signal->maxrss), so a late test in a long CI run read
# 348 MiB for a 60 MiB process; a small launcher in between keeps the figure honest.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "monitord", *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with os.fdopen(int(sys.argv[1]), "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
"""


def run_monitord(argv: list[str], *, stdout: int | None = None, timeout: float = 60.0) -> Finished:
    """`python -m monitord ARGV`; stdout to the given fd (default: /dev/null), stderr captured.

    The figures are the command's own (os.wait4 in a small launcher process),
    not pytest's nor the maximum over every child the session started. The
    launcher and the command are killed together after `timeout`.
    """
    import signal
    import time

    started = time.monotonic()
    report_read, report_write = os.pipe()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(report_write), *argv],
            stdin=subprocess.DEVNULL, stdout=devnull if stdout is None else stdout,
            stderr=subprocess.PIPE, pass_fds=(report_write,), start_new_session=True,
        )
    os.close(report_write)
    watchdog = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    assert proc.stderr is not None
    try:
        stderr = proc.stderr.read()  # EOF when the command exits
        with os.fdopen(report_read, "r") as report:
            figures = report.read().split()
        proc.wait()
    finally:
        watchdog.cancel()
        proc.stderr.close()
    assert len(figures) == 3, f"launcher died (exit {proc.returncode}): {stderr[-2000:]!r}"
    returncode, cpu_seconds, max_rss_kib = int(figures[0]), float(figures[1]), int(figures[2])
    return Finished(
        returncode, stderr.decode("utf-8", "replace"), time.monotonic() - started,
        cpu_seconds, max_rss_kib * 1024,
    )


@pytest.fixture
def monitord() -> Callable[..., Finished]:
    """Run the `monitord` command in a child process; see `run_monitord`."""
    return run_monitord


@pytest.fixture
def closed_stdout() -> Iterator[int]:
    """A pipe whose reader has already gone (`| head -1` after its line): writes get EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        yield write_end
    finally:
        os.close(write_end)
