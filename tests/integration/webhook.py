"""The receiver Alertmanager notifies, on loopback (aiohttp): what reached on-call, and when."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web


class Webhook:
    """The receiver Alertmanager notifies: records (arrival time, alert) per notification."""

    def __init__(self) -> None:
        self.alerts: list[tuple[float, dict[str, Any]]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.Response:
        now = time.time()
        body = await request.json()
        self.alerts.extend((now, a) for a in body["alerts"])
        return web.Response(text="ok")

    def find(self, alertname: str, status: str) -> tuple[float, dict[str, Any]] | None:
        for at, a in self.alerts:
            if a["labels"]["alertname"] == alertname and a["status"] == status:
                return at, a
        return None
