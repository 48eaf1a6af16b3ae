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


def run_monitord(argv: list[str], *, stdout: int | None = None, timeout: float = 60.0) -> Finished:
    """`python -m monitord ARGV`; stdout to the given fd (default: /dev/null), stderr captured.

    Waited for with os.wait4, so the figures are this child's own, not the
    maximum over every child the test session started. Killed after `timeout`.
    """
    import time

    started = time.monotonic()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitord", *argv],
            stdin=subprocess.DEVNULL, stdout=devnull if stdout is None else stdout,
            stderr=subprocess.PIPE,
        )
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    assert proc.stderr is not None
    try:
        stderr = proc.stderr.read()  # EOF when the child exits
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Finished(
        proc.returncode, stderr.decode("utf-8", "replace"), time.monotonic() - started,
        usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024,
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
