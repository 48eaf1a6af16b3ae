"""A QoS 1 MQTT subscriber for the real-broker tests (paho, its own thread)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho


class Subscriber:
    """Subscribes to `topics` (default: everything of `site`); keeps (topic, body, retained).

    `persistent` keeps the session (and queued QoS 1 messages) across reconnects, as
    a production consumer does; it then reconnects by itself.
    """

    def __init__(self, port: int, site: str, *, client_id: str = "it-subscriber",
                 persistent: bool = False, topics: list[str] | None = None,
                 auth: tuple[str, str] | None = None, ca: Path | None = None) -> None:
        self.site = site
        self.messages: list[tuple[str, Any, bool]] = []
        self._lock = threading.Lock()
        self._topics = topics or [f"monitord/{site}/#"]
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=not persistent)
        if auth is not None:
            self._client.username_pw_set(*auth)
        if ca is not None:
            self._client.tls_set(ca_certs=str(ca))
        if persistent:
            self._client.reconnect_delay_set(0.1, 0.5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._port = port

    def start(self) -> None:
        self._client.connect("127.0.0.1", self._port, keepalive=5)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Subscriber:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_connect(self, client: paho.Client, *_: Any) -> None:
        client.subscribe([(t, 1) for t in self._topics])

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        text = msg.payload.decode()
        body = json.loads(text) if text.startswith("{") else text
        with self._lock:
            self.messages.append((msg.topic, body, bool(msg.retain)))

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [b for t, b, _ in self.messages if t == f"monitord/{self.site}/events/{kind}"]

    def has(self, topic: str, payload: str) -> bool:
        with self._lock:
            return any((t, b) == (f"monitord/{self.site}/{topic}", payload)
                       for t, b, _ in self.messages)

    def last(self, topic: str) -> Any:
        with self._lock:
            found = [b for t, b, _ in self.messages if t == f"monitord/{self.site}/{topic}"]
        return found[-1] if found else None

    def unique(self) -> list[dict[str, Any]]:
        """First arrival of each event id, in arrival order: what a de-duplicating consumer keeps."""
        seen: set[str] = set()
        out = []
        with self._lock:
            for _, body, _ in self.messages:
                if isinstance(body, dict) and body["id"] not in seen:
                    seen.add(body["id"])
                    out.append(body)
        return out

    def kinds(self) -> list[str]:
        return [b["kind"] for b in self.unique() if not b["kind"].endswith("_state")]
