"""Config models for the SNMP checks: the agent (`target`) and one model per check type.

Credentials never sit in the file: a community or v3 password comes from a
`*_file` (read once at load, see secrets.py) or from an environment variable
named by `*_env` (read at load; unset is an error naming the key). MD5 and
DES are accepted, because old appliances offer nothing else, but earn a
warning from `snmp_warnings` at start-up and in `check-config`.

The same agent is usually polled by several checks: write its `target` once
as a YAML anchor (`target: &pbx1 {...}`) and reuse it (`target: *pbx1`).
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitord.config.base import CheckBase, FieldProblem, Strict
from monitord.config.secrets import SecretFromFile
from probes.snmp.client import AUTH_PROTOCOLS, PRIV_PROTOCOLS, WEAK_PROTOCOLS, SnmpAuth
from probes.snmp.oids import normalize_oid

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MIN_USM_PASSWORD = 8  # RFC 3414 §11.2: shorter passphrases are refused by agents


def _env_secret(value: Any) -> SecretStr:
    if isinstance(value, SecretStr):
        return value
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise ValueError(f"expected the name of an environment variable, got {value!r}")
    found = os.environ.get(value)
    if not found:
        raise ValueError(f"environment variable {value} is not set or empty")
    return SecretStr(found)


EnvSecret = Annotated[SecretStr, BeforeValidator(_env_secret)]


def parse_ratio(value: Any) -> float:
    """0.9, '90%' -> 0.9; limits are ratios (base units), percentages are a convenience."""
    if isinstance(value, bool):
        raise ValueError(f"invalid ratio {value!r}")
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            number = float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"invalid percentage {value!r}") from None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise ValueError(f"invalid ratio {value!r}: use 0.9 or '90%'")
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"ratio {value!r} is outside 0..1 (0%..100%)")
    return number


Ratio = Annotated[float, BeforeValidator(parse_ratio)]


def _oid(value: Any) -> str:
    return normalize_oid(str(value))


Oid = Annotated[str, BeforeValidator(_oid)]


def _regex(value: Any) -> re.Pattern[str]:
    if isinstance(value, re.Pattern):
        return value
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None


Regex = Annotated[re.Pattern[str], BeforeValidator(_regex)]


def _secret(file: Any, env: SecretStr | None) -> str:
    if file is not None:
        return str(file.get())
    return env.get_secret_value() if env is not None else ""


class SnmpTarget(Strict):
    """One agent and how to talk to it."""

    host: str = Field(min_length=1)
    port: StrictInt = Field(default=161, ge=1, le=65535)
    version: Literal["v1", "v2c", "v3"] = "v2c"
    community_file: SecretFromFile | None = None
    community_env: EnvSecret | None = None
    user: str | None = None
    auth_protocol: Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"] = "none"
    auth_password_file: SecretFromFile | None = None
    auth_password_env: EnvSecret | None = None
    priv_protocol: Literal[
        "none", "des", "3des", "aes", "aes128", "aes192", "aes256", "aes192c", "aes256c"
    ] = "none"
    priv_password_file: SecretFromFile | None = None
    priv_password_env: EnvSecret | None = None

    @model_validator(mode="after")
    def _credentials(self) -> SnmpTarget:
        community = self.community_file is not None or self.community_env is not None
        auth = self.auth_password_file is not None or self.auth_password_env is not None
        priv = self.priv_password_file is not None or self.priv_password_env is not None
        if self.community_file is not None and self.community_env is not None:
            raise FieldProblem("community_env", "give community_file or community_env, not both")
        if self.auth_password_file is not None and self.auth_password_env is not None:
            raise FieldProblem(
                "auth_password_env", "give auth_password_file or auth_password_env, not both"
            )
        if self.priv_password_file is not None and self.priv_password_env is not None:
            raise FieldProblem(
                "priv_password_env", "give priv_password_file or priv_password_env, not both"
            )
        if self.version != "v3":
            if not community:
                raise FieldProblem(
                    "community_file",
                    f"SNMP {self.version} needs community_file or community_env"
                    " (communities are never written inline)"
                )
            if self.user or auth or priv or self.auth_protocol != "none" or self.priv_protocol != "none":
                raise ValueError(f"user and auth/priv settings are for v3, not {self.version}")
            return self
        if community:
            raise ValueError("SNMP v3 uses user, not a community")
        if not self.user:
            raise FieldProblem("user", "SNMP v3 needs user")
        if (self.auth_protocol != "none") != auth:
            raise FieldProblem(
                "auth_protocol", "auth_protocol and auth_password_file/_env go together"
            )
        if (self.priv_protocol != "none") != priv:
            raise FieldProblem(
                "priv_protocol", "priv_protocol and priv_password_file/_env go together"
            )
        if priv and not auth:
            raise FieldProblem(
                "auth_protocol",
                "privacy without authentication is not allowed in SNMPv3 (set auth_protocol)",
            )
        for name, secret in (
            ("auth", _secret(self.auth_password_file, self.auth_password_env)),
            ("priv", _secret(self.priv_password_file, self.priv_password_env)),
        ):
            if secret and len(secret) < MIN_USM_PASSWORD:
                raise ValueError(
                    f"the {name} password is shorter than {MIN_USM_PASSWORD} characters;"
                    " SNMPv3 agents refuse such keys"
                )
        return self

    def __str__(self) -> str:
        """How the API and logs show the target: address, version and level, never a secret."""
        user = f"{self.user}@" if self.user else ""
        level = self.auth().level if self.version == "v3" else "community"
        return f"snmp://{user}{self.host}:{self.port} ({self.version} {level})"

    def auth(self) -> SnmpAuth:
        """The runtime credentials (secrets resolved; they stay out of every repr)."""
        assert set(AUTH_PROTOCOLS) >= {self.auth_protocol}
        assert set(PRIV_PROTOCOLS) >= {self.priv_protocol}
        return SnmpAuth(
            version=self.version,
            community=_secret(self.community_file, self.community_env) or "public",
            user=self.user or "",
            auth_protocol=self.auth_protocol,
            auth_key=_secret(self.auth_password_file, self.auth_password_env),
            priv_protocol=self.priv_protocol,
            priv_key=_secret(self.priv_password_file, self.priv_password_env),
        )


class SnmpCheckBase(CheckBase):
    target: SnmpTarget
    retries: StrictInt = Field(default=1, ge=0, le=5)
    max_repetitions: StrictInt = Field(default=25, ge=1, le=200)


class SnmpUpCheck(SnmpCheckBase):
    type: Literal["snmp_up"]
    uptime_source: Literal["sys_uptime", "hr_system_uptime"] = "sys_uptime"


class SnmpCpuCheck(SnmpCheckBase):
    type: Literal["snmp_cpu"]
    source: Literal["hr_processor_load", "ucd_cpu_idle", "ucd_load_average"] = "hr_processor_load"
    max: float = Field(description="a ratio (0.9 or '90%'); a load average for ucd_load_average")
    load_minutes: Literal[1, 5, 15] = 1

    @field_validator("max", mode="before")
    @classmethod
    def _max_value(cls, value: Any, info: ValidationInfo) -> Any:
        # `source` is declared before `max`, so it is validated already
        load_average = info.data.get("source") == "ucd_load_average"
        if isinstance(value, str) and value.strip().endswith("%") and not load_average:
            return parse_ratio(value)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"invalid max {value!r}: use a ratio like 0.9 or '90%'")
        if not load_average and value > 1.0:
            raise ValueError(
                f"max {value:g} is above 1 (100%): CPU load is a ratio for this source"
                " (write 0.9 or '90%')"
            )
        return value


class SnmpDiskCheck(SnmpCheckBase):
    type: Literal["snmp_disk"]
    storage: Regex = Field(default_factory=lambda: re.compile(r"^/$"))
    max_used: Ratio


class SnmpOidCheck(SnmpCheckBase):
    type: Literal["snmp_oid"]
    oid: Oid
    walk: bool = False
    where: Regex | None = None
    equals: int | float | str | None = None
    not_equals: int | float | str | None = None
    less_than: float | None = None
    greater_than: float | None = None
    matches: Regex | None = None
    min_rows: StrictInt | None = Field(default=None, ge=0)
    max_rows: StrictInt | None = Field(default=None, ge=0)

    @field_validator("where", "min_rows", "max_rows")
    @classmethod
    def _walk_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and not info.data.get("walk"):
            raise ValueError(f"{info.field_name} applies to table walks: set walk: true")
        return value


SNMP_CHECK_MODELS: dict[str, type[CheckBase]] = {
    "snmp_up": SnmpUpCheck,
    "snmp_cpu": SnmpCpuCheck,
    "snmp_disk": SnmpDiskCheck,
    "snmp_oid": SnmpOidCheck,
}
SnmpCheck = SnmpUpCheck | SnmpCpuCheck | SnmpDiskCheck | SnmpOidCheck


def snmp_warnings(checks: list[Any]) -> list[str]:
    """Weak (but accepted) v3 protocols, one line per check, for logs and check-config."""
    out: list[str] = []
    for i, check in enumerate(checks):
        target = getattr(check, "target", None)
        if not isinstance(target, SnmpTarget):
            continue
        for key in ("auth_protocol", "priv_protocol"):
            proto = getattr(target, key)
            if proto in WEAK_PROTOCOLS:
                out.append(
                    f"checks[{i}].target.{key}: {proto.upper()} is broken cryptography;"
                    " accepted for old agents, but move to SHA-2 / AES when the device allows"
                )
    return out
