"""One SIP probe with sockets of its own, opened for it and closed after it: for the CLI.

The daemon shares one `SipTransports` between all its SIP checks; a command
that runs a single probe (`monitord probe`, `register`, `call`) opens its own
around the probe, whatever happens to the probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..base import Probe, ProbeResult
from .transport import SipTransports

__all__ = ["run_once"]


async def run_once(probe_on: Callable[[SipTransports], Probe], timeout: float) -> ProbeResult:
    """`probe_on(transports).run(deadline)` with `timeout` seconds from now as its deadline."""
    transports = SipTransports()
    await transports.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        return await probe_on(transports).run(deadline)
    finally:
        await transports.close()
