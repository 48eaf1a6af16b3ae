"""PDF export of the HTML report through headless Chromium's print-to-PDF (CLI only).

Why Chromium: the HTML report is already the document an SLA manager sends
(self-contained, inline SVG); printing it with a real browser engine keeps
the PDF identical to what was checked on screen, with no PDF library to
maintain. Debian's `chromium` package provides it. The daemon never runs
this: only `monitord report|sla compute --format pdf` does, as a child
process with a throw-away profile, bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from monitord.errors import SlaError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_SECONDS = 120.0


def find_chromium(explicit: str | None = None) -> str:
    if explicit:
        if shutil.which(explicit) is None:
            raise SlaError(f"--chromium: {explicit!r} is not an executable")
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise SlaError(
        "PDF export needs headless Chromium: install it (Debian: apt-get install chromium)"
        " or name it with --chromium PATH"
    )


def html_to_pdf(page: str, out: Path, *, chromium: str | None = None) -> int:
    """Print `page` (HTML) to `out`; returns the PDF's size in bytes."""
    exe = find_chromium(chromium)
    out = out.resolve()
    if not out.parent.is_dir():
        raise SlaError(f"--output {out}: the directory {out.parent} does not exist")
    with tempfile.TemporaryDirectory(prefix="monitord-pdf-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page, encoding="utf-8")
        cmd = [
            exe, "--headless", "--disable-gpu", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update",
            "--disable-extensions", f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer", f"--print-to-pdf={out}", source.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise SlaError(f"{exe} did not print the PDF within {TIMEOUT_SECONDS:g} s") from None
    if proc.returncode != 0 or not out.is_file() or out.read_bytes()[:5] != b"%PDF-":
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        tail = [ln for ln in lines if "dbus" not in ln][-3:]  # the bus noise of a headless host
        raise SlaError(f"{exe} could not print the PDF (exit {proc.returncode}): {' | '.join(tail)}")
    return out.stat().st_size
