"""Config models for the `alertmanager:` and `mqtt:` sections.

Both sections are optional: absent means the provider is not started (and,
for MQTT, that the store keeps no outbox, so nothing piles up unread).
Defaults are what a production NOC wants; tests shorten the intervals.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from monitord.config.base import FieldProblem, Strict, paired
from monitord.config.durations import Duration
from monitord.config.secrets import SecretFromFile

_HTTP_URL = re.compile(r"^https?://[^/\s:]+(:\d{1,5})?(/\S*)?$")
_TOPIC_PART = re.compile(r"^[^#+\s/][^#+\s]*$")


class AlertmanagerConfig(Strict):
    """Where and how to push alerts (Alertmanager API v2)."""

    # Every URL gets every alert: an HA pair de-duplicates among itself.
    urls: list[str] = Field(min_length=1)
    # Like Prometheus' resend delay: active alerts are re-sent this often, and
    # each carries endsAt = now + 4 x this, so a dead daemon's alerts expire.
    resend_interval: Duration = 30.0
    timeout: Duration = 5.0
    retry_initial: Duration = 0.5
    retry_max: Duration = 30.0
    check_severity: str = "warning"
    check_priority: str = "P2"
    service_severity: str = "critical"
    service_priority: str = "P1"  # sla-rules §3: a complete outage is P1
    # The daemon as people reach it (e.g. https://monitord.noc.example): alerts link to
    # <it>/api/v1/checks/<check> (generatorURL). Default: http://<daemon.listen>, with the
    # host's name when listening on every address.
    generator_url: str | None = None
    # Default runbook for every alert, per alert section (#monitordservicedown ...):
    # default <generator_url>/runbook, the page the daemon serves. Checks and services
    # may name their own (`runbook_url:`).
    runbook_url: str | None = None
    bearer_token_file: SecretFromFile | None = None  # for an Alertmanager behind a proxy

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not _HTTP_URL.match(url):
                raise ValueError(
                    f"invalid Alertmanager URL {url!r}: use http(s)://HOST[:PORT][/PATH],"
                    " e.g. http://127.0.0.1:9093"
                )
        if len(set(value)) != len(value):
            raise ValueError("an Alertmanager URL is listed twice")
        return value

    @field_validator("generator_url", "runbook_url")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        if value is not None and not _HTTP_URL.match(value):
            raise ValueError(f"invalid URL {value!r}: use http(s)://HOST[:PORT][/PATH]")
        return value

    @model_validator(mode="after")
    def _retry(self) -> AlertmanagerConfig:
        if self.retry_initial > self.retry_max:
            raise FieldProblem("retry_initial", "retry_initial must not exceed retry_max")
        return self


class MqttTls(Strict):
    ca_file: str | None = None  # None: the system trust store
    cert_file: str | None = None  # client certificate, with key_file
    key_file: str | None = None
    insecure: bool = False  # skip hostname verification (test brokers only)

    @model_validator(mode="after")
    def _pair(self) -> MqttTls:
        paired(self, "cert_file", "key_file", "tls.cert_file and tls.key_file go together")
        return self


class MqttConfig(Strict):
    """The broker events and retained states are published to."""

    host: str = "127.0.0.1"
    port: StrictInt = Field(default=1883, ge=1, le=65535)
    client_id: str | None = None  # default: monitord-<site>
    username: str | None = None
    password_file: SecretFromFile | None = None
    tls: MqttTls | None = None
    topic_prefix: str = "monitord"
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive: Duration = 30.0
    publish_timeout: Duration = 10.0  # waiting for one PUBACK
    retry_initial: Duration = 0.5
    retry_max: Duration = 30.0
    batch: StrictInt = Field(default=200, ge=1, le=10_000)  # outbox rows read at a time
    # backlog reported above this (log + monitord_outbox_pending_limit); never dropped
    max_pending: StrictInt = Field(default=100_000, ge=1)
    poll_interval: Duration = 5.0  # outbox re-read even without a wake-up

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _TOPIC_PART.match(value) or value.endswith("/"):
            raise ValueError(
                f"invalid topic_prefix {value!r}: no '#', '+', spaces, or leading/trailing '/'"
            )
        return value

    @model_validator(mode="after")
    def _auth(self) -> MqttConfig:
        if self.password_file is not None and self.username is None:
            raise FieldProblem("password_file", "mqtt.password_file needs mqtt.username")
        if self.retry_initial > self.retry_max:
            raise FieldProblem("retry_initial", "retry_initial must not exceed retry_max")
        return self
