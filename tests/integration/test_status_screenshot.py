"""The status page at `/` renders in a real browser: headless Chromium loads it from the daemon.

What is checked is what a newcomer sees: the page answers at the address the
demo prints, with no script to build or run; the screenshot has a plausible
size and its pixels hold the colours of an UP check, a DOWN check and service,
and a service in maintenance (each exactly, as the page's CSS draws them).
MONITORD_SAVE_SCREENSHOT=docs/status-example.png keeps a copy for the docs.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitord.http.status import STATE_COLOURS
from tests.integration.conftest import RunningPeer
from tests.integration.daemon import DaemonProcess
from tests.integration.peers import free_port
from tests.integration.png import chromium_screenshot, colour_counts, read_png
from tests.needs import need_program

pytestmark = pytest.mark.integration


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def test_status_page_screenshot(tmp_path: Path, sipp_options: RunningPeer) -> None:
    chromium = need_program("chromium")
    now = datetime.now(UTC)
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(), {
        "daemon": {"site": "it"},
        "defaults": {"interval": "1s", "timeout": "500ms"},
        "checks": [
            {"name": "sbc-a", "type": "sip_options", "description": "Primary SBC",
             "target": f"sip:127.0.0.1:{sipp_options.port}"},
            {"name": "sbc-b", "type": "sip_options", "description": "Backup SBC",
             "target": f"sip:127.0.0.1:{sipp_options.port};transport=udp"},
            {"name": "trunk", "type": "sip_options", "description": "Carrier trunk (unplugged)",
             "target": f"sip:127.0.0.1:{free_port()}"},
        ],
        "services": [
            {"name": "voice", "checks": ["sbc-a", "sbc-b"], "description": "Hosted telephony"},
            {"name": "pstn", "checks": ["trunk"], "description": "Calls to the public network"},
        ],
        "maintenance": {"windows": [{
            "name": "patching", "services": ["voice"], "start": (now - timedelta(minutes=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
            "announced_at": (now - timedelta(days=2)).isoformat()}]},
    })
    daemon.start()
    try:
        daemon.wait_for("trunk down, the SBCs up", lambda: [
            daemon.check(n)["state"] for n in ("trunk", "sbc-a", "sbc-b")] == ["down", "up", "up"], 15)
        html = daemon.get("/")
        assert "<script" not in html and "Carrier trunk (unplugged)" in html
        png = tmp_path / "status.png"
        chromium_screenshot(chromium, f"http://127.0.0.1:{daemon.port}/", png, tmp_path / "profile")
    finally:
        daemon.stop()
    size = png.stat().st_size
    assert 10_000 < size < 400_000, size
    width, height, rows = read_png(png)
    assert (width, height) == (1200, 900)
    counts = colour_counts(rows)
    for state in ("up", "down", "maintenance"):
        assert counts[_rgb(STATE_COLOURS[state])] >= 20, f"{state} ({STATE_COLOURS[state]}) not drawn"
    print(f"\n[status page] {size} bytes PNG, pixels: up {counts[_rgb(STATE_COLOURS['up'])]},"
          f" down {counts[_rgb(STATE_COLOURS['down'])]},"
          f" maintenance {counts[_rgb(STATE_COLOURS['maintenance'])]}")
    keep = os.environ.get("MONITORD_SAVE_SCREENSHOT")
    if keep:
        shutil.copyfile(png, keep)
