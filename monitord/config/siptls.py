"""The `tls:` block of SIP checks: how a sips:/transport=tls target is trusted.

Defaults are what a phone does: verify the chain against the system store and
the name against the target host. `ca_file` serves private PKIs, `server_name`
targets written as IP addresses, and `expiry_warning_days` is when an expiring
certificate starts to show in logs and metrics (it never fails the check: an
expired one does, through the handshake).
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

__all__ = ["SipTlsConfig"]


class SipTlsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: str | None = None
    verify: StrictBool = True
    server_name: str | None = None
    expiry_warning_days: StrictInt = Field(default=14, ge=0, le=3650)

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isfile(os.path.expanduser(value)):
            raise ValueError(f"CA file {value!r} does not exist")
        return os.path.expanduser(value) if value is not None else None

    @field_validator("server_name")
    @classmethod
    def _server_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c.isspace() or c in "/:@" for c in value)):
            raise ValueError(f"invalid server_name {value!r}: a DNS name, e.g. sbc.example.net")
        return value
