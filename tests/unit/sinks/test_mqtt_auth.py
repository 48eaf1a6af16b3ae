"""A refused login is told apart from an unreachable broker: only the operator can fix it."""

from __future__ import annotations

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from monitord.sinks.mqtt import auth_refused


def test_bad_credentials_and_not_authorized_are_auth_failures() -> None:
    for name in ("Bad user name or password", "Not authorized"):
        rc = ReasonCode(PacketTypes.CONNACK, name)
        assert auth_refused(aiomqtt.MqttCodeError(rc, "Could not connect"))
    assert auth_refused(aiomqtt.MqttCodeError(5, "refused"))  # MQTT 3.1.1 CONNACK code


def test_other_failures_are_not() -> None:
    assert not auth_refused(aiomqtt.MqttError("[Errno 111] Connection refused"))
    rc = ReasonCode(PacketTypes.CONNACK, "Server unavailable")
    assert not auth_refused(aiomqtt.MqttCodeError(rc, "Could not connect"))
