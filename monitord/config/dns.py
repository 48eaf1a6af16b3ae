"""The `daemon.dns` block: which DNS servers locate SIP targets (RFC 3263).

Phones find an SBC through NAPTR and SRV records, so the monitor must ask the
same DNS the phones ask. Empty `nameservers` means the system configuration
(/etc/resolv.conf, and /etc/hosts for addresses); set it to the resolver the
platform's phones use, or to a local test server (`127.0.0.1:5353`).
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitord.config.durations import Duration

__all__ = ["DnsConfig", "parse_nameserver"]

_HOST_PORT = re.compile(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([0-9.]+):(\d+)|([0-9a-fA-F:.]+)")


def parse_nameserver(text: str) -> tuple[str, int]:
    """'192.0.2.53', '127.0.0.1:5353', '2001:db8::53' or '[2001:db8::53]:5353' -> (ip, port)."""
    match = _HOST_PORT.fullmatch(text.strip())
    host = port_text = None
    if match:
        host = match.group(1) or match.group(3) or match.group(5)
        port_text = match.group(2) or match.group(4)
    try:
        ip = str(ipaddress.ip_address(host or ""))
    except ValueError:
        raise ValueError(f"invalid nameserver {text!r}: use an IP address, IP:PORT or"
                         " [IPv6]:PORT (a name would itself need DNS)") from None
    port = int(port_text) if port_text else 53
    if not 1 <= port <= 65535:
        raise ValueError(f"invalid port {port} in nameserver {text!r}")
    return ip, port


class DnsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    nameservers: list[str] = Field(default_factory=list)
    # Per query: a DNS server that does not answer is a dns_failure, within the check's timeout.
    timeout: Duration = 2.0

    @field_validator("nameservers")
    @classmethod
    def _nameservers(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_nameserver(item)
        return value

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [parse_nameserver(item) for item in self.nameservers]
