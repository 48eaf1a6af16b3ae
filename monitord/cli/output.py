"""What every command prints: one result-line format, warnings on stderr, a closed pipe.

The result line is what a NOC greps and pastes into a ticket, so `probe`,
`register`, `call` and `probe snmp://` print it the same way:

    OK <target>: <detail> (latency 0.45 ms)
    FAIL <target>: <reason>: <detail> (latency 2000.31 ms)

`reason` is the failure reason the daemon records (`timeout`, `auth_failure`,
...); the latency part is there when one was measured. Further figures
follow on lines indented by two spaces. `RESULT_LINE` parses the line back.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from typing import TextIO

__all__ = ["RESULT_LINE", "reader_gone_guard", "result_line", "warn"]

RESULT_LINE = re.compile(
    r"^(?:OK|(?P<fail>FAIL)) (?P<target>\S+): (?(fail)(?P<reason>[a-z_]+): )"
    r"(?P<detail>.*?)(?: \(latency (?P<latency_ms>\d+\.\d\d) ms\))?$"
)


def result_line(
    ok: bool, target: str, detail: str, *, reason: str | None = None, latency: float | None = None
) -> str:
    verdict = "OK" if ok else "FAIL"
    cause = "" if ok else f"{reason or 'failed'}: "
    timing = f" (latency {latency * 1000:.2f} ms)" if latency is not None else ""
    return f"{verdict} {target}: {cause}{detail or '-'}{timing}"


def warn(command: str, message: str) -> None:
    print(f"monitord {command}: warning: {message}", file=sys.stderr)


class _PipeSafe(io.TextIOBase):
    """stdout that goes quiet once its reader has gone (`monitord ... | head -1`).

    Why not die of SIGPIPE like a C tool: Python ignores SIGPIPE so that a
    socket write to a vanished peer is an error, not the end of the daemon;
    so the command instead stops writing, finishes its job and exits with its
    own status. fd 1 is pointed at /dev/null so that the interpreter's final
    flush does not raise the same error again as an "Exception ignored" note.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self.reader_gone = False

    def _gone(self) -> None:
        self.reader_gone = True
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding


@contextlib.contextmanager
def reader_gone_guard() -> Iterator[None]:
    """Run a command with stdout that survives its reader closing the pipe."""
    original = sys.stdout
    guarded = _PipeSafe(original)
    sys.stdout = guarded
    try:
        yield
    finally:  # also on SystemExit (`--help`): what is buffered must meet the guard
        guarded.flush()
        sys.stdout = original
