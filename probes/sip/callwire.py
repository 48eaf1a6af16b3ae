"""One call leg on the wire: the `UacDialog` core driven over the shared SIP transports.

The aioquic-style adapter of the dialog: messages of our Call-ID arrive from
`SipTransports` (`on_message`), `loop.time()` is the clock, one `call_at`
timer is re-armed at `get_timer()`, and what `data_to_send()` returns is sent
in order by one sender task (so a TCP connect or a DNS lookup never reorders
a dialog's messages). Every event goes to `on_event` (the verdict core) and
wakes whoever `wait`s. The probe never reaches into the core: it calls
`start`, `hangup` and `wait`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from ..base import FailureReason
from ..errors import ProbeFailure
from .call import (
    AuthChallenged,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallFailed,
    CallSettings,
    Outgoing,
    Provisional,
    RemoteHangup,
)
from .dialog import UacDialog
from .message import Request, Response
from .transport import Address, NextHop, SipTransports, StreamTransport

__all__ = ["CallLeg"]


class CallLeg:
    """One INVITE dialog towards one address (see the module docstring)."""

    def __init__(self, settings: CallSettings, transports: SipTransports, hop: NextHop) -> None:
        self.settings = settings
        self.transports = transports
        self.hop = hop
        self.loop = asyncio.get_running_loop()
        self.dialog: UacDialog | None = None
        self.on_event: Callable[[CallEvent], None] = lambda event: None
        self.started = self.loop.time()
        self.responded = False  # any response at all (the address is alive)
        self.first_18x: float | None = None
        self.auth_invite_at: float | None = None
        self.answered: CallAnswered | None = None
        self.failed: CallFailed | None = None
        self.remote_bye: float | None = None
        self.ended: CallEnded | None = None
        self.transport_error: tuple[FailureReason, str] | None = None
        self.failover_detail = ""
        self._timer: asyncio.TimerHandle | None = None
        self._outbox: asyncio.Queue[tuple[Outgoing, Address | None]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    # -- CallHandler (called by SipTransports) -------------------------------------------

    def on_message(self, message: Request | Response, source: Address,
                   transport: StreamTransport, arrival: float) -> None:
        if self.dialog is None:
            return
        if isinstance(message, Response):
            self.responded = True
        self.dialog.receive_message(message, arrival)
        self._pump(reply_to=source)

    def on_transport_error(self, reason: FailureReason, detail: str) -> None:
        if self.transport_error is None:
            self.transport_error = (reason, detail)
        self._changed.set()

    # -- what the probe calls -------------------------------------------------------------

    def start(self, offer: bytes) -> UacDialog:
        self.started = self.loop.time()
        dialog = self.dialog = UacDialog(self.settings, sdp_offer=offer, now=self.started)
        self.transports.register_call(dialog.call_id, self, self.hop)
        self._sender = self.loop.create_task(self._send_loop())
        self._pump()
        return dialog

    def hangup(self) -> None:
        """BYE when confirmed, CANCEL while ringing (the core knows which)."""
        if self.dialog is not None:
            self.dialog.hangup(self.loop.time())
            self._pump()

    async def wait(self, until: float) -> None:
        """Until the call changes (an event, a transport error) or `until` (loop clock)."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(until):
                await self._changed.wait()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.dialog is not None:
            self.transports.unregister_call(self.dialog.call_id)
        if self._sender is not None:
            # Let queued messages (the BYE's 200, our ACK) leave before stopping.
            for _ in range(10):
                if self._outbox.empty():
                    break
                await asyncio.sleep(0)
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None

    # -- the adapter ---------------------------------------------------------------------

    def _pump(self, reply_to: Address | None = None) -> None:
        dialog = self.dialog
        if dialog is None:
            return
        for out in dialog.data_to_send():
            self._outbox.put_nowait((out, reply_to))
        while (event := dialog.next_event()) is not None:
            self._on_event(event)
        if self._timer is not None:
            self._timer.cancel()
        when = dialog.get_timer()
        self._timer = None if when is None else self.loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.dialog is not None:
            self.dialog.handle_timer(self.loop.time())
            self._pump()

    async def _send_loop(self) -> None:
        while True:
            out, reply_to = await self._outbox.get()
            try:
                await self.transports.send(out.data, out.uri, self.hop, reply_to)
            except ProbeFailure as exc:
                self.on_transport_error(exc.reason, exc.detail)

    def _on_event(self, event: CallEvent) -> None:
        if isinstance(event, Provisional):
            if event.response.status >= 180 and self.first_18x is None:
                self.first_18x = event.time
        elif isinstance(event, AuthChallenged):
            self.auth_invite_at = event.time  # the authenticated INVITE left at this instant
        elif isinstance(event, CallAnswered):
            self.answered = event
        elif isinstance(event, CallFailed):
            self.failed = self.failed or event
        elif isinstance(event, RemoteHangup):
            self.remote_bye = event.time
        elif isinstance(event, CallEnded):
            self.ended = event
        self.on_event(event)
        self._changed.set()
