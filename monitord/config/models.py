"""Typed configuration: defaults live here, unknown keys are rejected.

Checks are a discriminated union on `type`; each later check type adds one
model here and one probe module. Cross-field rules that need the whole file
(unique names, services referring to existing checks, thresholds after
defaults are applied) are in `load.py` so their errors can name a path.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, StrictInt, field_validator, model_validator

from monitord.config.alerting import AlertmanagerConfig, MqttConfig
from monitord.config.base import (
    MAX_HEARTBEAT,
    CheckBase,
    FieldProblem,
    Interval,
    Locations,
    Name,
    StatusCodes,
    Streak,
    Strict,
    sip_target,
)
from monitord.config.call import CallQualityWindow, SipCallCheck
from monitord.config.dns import DnsConfig
from monitord.config.durations import bounded
from monitord.config.register import SipRegisterCheck
from monitord.config.secrets import SecretFromFile
from monitord.config.siptls import SipTlsConfig
from monitord.config.snmp import (
    SNMP_CHECK_MODELS,
    SnmpCpuCheck,
    SnmpDiskCheck,
    SnmpOidCheck,
    SnmpUpCheck,
)
from monitord.core.events import DowntimeStart
from monitord.sla.config import CalendarConfig, MaintenanceConfig, SlaPolicy
from monitord.storage.location import PostgresLocation, parse_storage


def parse_listen(value: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([^:\[\]]+):(\d+)", value.strip())
    if not match:
        raise ValueError(f"invalid listen address {value!r}: use HOST:PORT or [IPV6]:PORT")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 <= port <= 65535:
        raise ValueError(f"invalid port {port} in {value!r}")
    return host, port


class DaemonConfig(Strict):
    site: Name = "default"
    listen: str = "127.0.0.1:9465"
    storage: str = "var/monitord.db"  # a SQLite file, or postgresql://user@host[:port]/database
    storage_password_file: SecretFromFile | None = None  # PostgreSQL password, read at load
    storage_password: SecretStr | None = None  # the same as `${VAR}` from the environment
    timezone: str = "Europe/Amsterdam"
    # probes in flight at once. Unset: no limit but the checks themselves (a check never
    # overlaps itself), so a site that is cut off, every probe waiting out its timeout,
    # delays nothing. A limit below the number of checks skips slots exactly then.
    max_concurrency: StrictInt | None = Field(default=None, ge=1, le=100_000)
    heartbeat_interval: Annotated[float, BeforeValidator(bounded(MAX_HEARTBEAT))] = 10.0
    api_token_file: SecretFromFile | None = None  # bearer token for write endpoints
    dns: DnsConfig = Field(default_factory=DnsConfig)  # RFC 3263 lookups of SIP targets
    # Fleets (docs/fleet.md): the vantage point this agent probes from, and its name there.
    # Agents of one location with the same config share its checks; unset: no fleet.
    location: Name | None = None
    agent: Name | None = None  # default: the host name
    # agent: probes its share of the location's checks; judge: only a candidate for the
    # judge's lease (one process judges at a time); both: the default
    role: Literal["agent", "judge", "both"] = "both"

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        parse_storage(value)
        return value

    @model_validator(mode="after")
    def _storage_password(self) -> DaemonConfig:
        if self.storage_password_file is None and self.storage_password is None:
            return self
        if self.storage_password_file is not None and self.storage_password is not None:
            raise ValueError("give storage_password_file or storage_password, not both")
        if not isinstance(parse_storage(self.storage), PostgresLocation):
            raise ValueError("a storage password is for a postgresql:// storage, not a file")
        return self

    def storage_secret(self) -> str | None:
        if self.storage_password_file is not None:
            return self.storage_password_file.get()
        return None if self.storage_password is None else self.storage_password.get_secret_value()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @property
    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    @model_validator(mode="after")
    def _fleet(self) -> DaemonConfig:
        if self.agent is not None and self.location is None:
            raise FieldProblem("agent", "daemon.agent names an agent of a fleet: set"
                               " daemon.location too (docs/fleet.md)")
        if self.role != "both" and self.location is None:
            raise FieldProblem("role", "daemon.role is for a fleet: set daemon.location too"
                               " (docs/fleet.md)")
        return self


class Defaults(Strict):
    interval: Interval = 10.0
    timeout: Interval = 3.0
    alert_after: Streak = 3
    down_after: Streak = 5
    recover_after: Streak = 1
    downtime_start: DowntimeStart = DowntimeStart.FIRST_FAILURE


class SipOptionsCheck(CheckBase):
    type: Literal["sip_options"]
    target: str
    accept_codes: StatusCodes = frozenset(range(200, 300))
    from_user: str = "monitord"
    tls: SipTlsConfig = Field(default_factory=SipTlsConfig)  # for sips: / transport=tls

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return sip_target(value)



# One entry per check type; the union below is discriminated on `type`.
CHECK_MODELS: dict[str, type[CheckBase]] = {"sip_options": SipOptionsCheck, **SNMP_CHECK_MODELS,
                                          "sip_register": SipRegisterCheck, "sip_call": SipCallCheck}
CheckConfig = Annotated[
    SipOptionsCheck | SnmpUpCheck | SnmpCpuCheck | SnmpDiskCheck | SnmpOidCheck | SipRegisterCheck
    | SipCallCheck,
    Field(discriminator="type"),
]


class AtLeast(Strict):
    at_least: StrictInt = Field(ge=1)


def _down_when(value: Any) -> str | AtLeast:
    if value in ("any", "all"):
        return str(value)
    if isinstance(value, dict) and set(value) == {"at_least"}:
        n = value["at_least"]
        if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
            return AtLeast(at_least=n)
    raise ValueError(
        f"down_when must be 'any', 'all' or {{at_least: N}} with N >= 1, got {value!r}"
    )


DownWhen = Annotated[Literal["any", "all"] | AtLeast, BeforeValidator(_down_when)]


class ServiceConfig(Strict):
    name: Name
    description: str = ""
    runbook_url: str | None = None  # what on-call opens from this service's alerts
    checks: list[Name] = Field(min_length=1)
    down_when: DownWhen = "any"
    sla_policy: Name | None = None  # an sla_policies entry: how its reports are computed
    # SLA reports (issue 16): the priority of its recorded downtime until a review says
    # otherwise (a whole-platform service P1, a site or department service P2), and
    # the customer named on its reports
    default_priority: Literal["P1", "P2", "P3", "P4"] = "P1"
    customer: str = ""
    # which calls its call-quality priority (XTIUM P1-P3) is judged on: monitord/core/callquality.py
    call_quality: CallQualityWindow = Field(default_factory=CallQualityWindow)
    locations: Locations = Field(default_factory=Locations)  # quorum over a fleet's locations

    def required_down(self) -> int:
        """How many of the service's checks must be down for the service to be down."""
        if self.down_when == "any":
            return 1
        if self.down_when == "all":
            return len(self.checks)
        assert isinstance(self.down_when, AtLeast)
        return self.down_when.at_least


# Imported here, not at the top: these models build on Strict and Duration above.


class Config(Strict):
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    defaults: Defaults = Field(default_factory=Defaults)
    checks: list[CheckConfig] = Field(default_factory=list)
    services: list[ServiceConfig] = Field(default_factory=list)
    # SLA engine (monitord/sla): policies, office-hours calendars, maintenance windows
    sla_policies: list[SlaPolicy] = Field(default_factory=list)
    calendars: list[CalendarConfig] = Field(default_factory=list)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
    alertmanager: AlertmanagerConfig | None = None  # push alerts (monitord/alerting)
    mqtt: MqttConfig | None = None  # publish events from the durable outbox
