"""Config model for the `sip_register` check: a monitoring account on a registrar.

The password never sits in the file: `password_file` names a file read once at
load (see secrets.py), so a missing file is a config error naming the key, not
a 401 storm at 3 a.m. Everything the probe would refuse (a target without the
account user, an impossible expiry) is refused here, with the YAML path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from monitord.config.base import CheckBase, sip_target, sip_token
from monitord.config.secrets import SecretFromFile
from monitord.config.siptls import SipTlsConfig

__all__ = ["SipRegisterCheck"]


class SipRegisterCheck(CheckBase):
    type: Literal["sip_register"]
    target: str  # sip:USER@REGISTRAR[:PORT][;transport=udp|tcp|tls] or sips:
    password_file: SecretFromFile
    username: str | None = None  # digest user name, if it differs from the AOR user
    domain: str | None = None  # AOR domain, if it differs from the registrar host
    expires: StrictInt = Field(default=60, ge=1, le=86400)
    deregister: StrictBool = True  # remove the binding after each check (no stale bindings)
    tls: SipTlsConfig = Field(default_factory=SipTlsConfig)  # for sips: / transport=tls

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return sip_target(value, user="the account user")

    @field_validator("username", "domain")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return sip_token(value, "value", '"<>@')
