"""SIP URIs as they appear in probe configuration (RFC 3261 §19.1).

Only what a monitoring target needs is modelled: scheme, user, host, port and
URI parameters. URI headers (`?...`) are rejected rather than silently dropped,
because a target that cannot be reproduced from its config is a support call.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from ..errors import SipUriError

__all__ = ["SipUri", "Transport"]

Transport = Literal["udp", "tcp", "tls"]

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_IPV4_LIKE = re.compile(r"[0-9.]+")
# §25.1 paramchar / token: generous, but never separators that would change
# how the URI splits when printed again.
_PARAM_NAME = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_PARAM_VALUE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~\[\]/:&$]+")
_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()%&=+$,;?/:]+")
_TRANSPORTS: dict[str, Transport] = {"udp": "udp", "tcp": "tcp", "tls": "tls"}


@dataclass(frozen=True, slots=True)
class SipUri:
    """A parsed `sip:`/`sips:` URI; `host` holds IPv6 literals without brackets."""

    scheme: Literal["sip", "sips"]
    user: str | None
    host: str
    port: int | None = None
    params: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse and validate, naming the offending part in the error."""
        if not isinstance(text, str):
            raise SipUriError(f"SIP URI must be a string, got {type(text).__name__}")
        raw = text.strip()
        scheme_part, sep, rest = raw.partition(":")
        scheme = scheme_part.lower()
        if not sep or scheme not in ("sip", "sips"):
            raise SipUriError(f"SIP URI must start with 'sip:' or 'sips:': {text!r}")
        if "?" in rest:
            raise SipUriError(f"SIP URI headers ('?...') are not supported: {text!r}")
        if any(ch.isspace() for ch in rest) or not rest:
            raise SipUriError(f"SIP URI is empty or contains whitespace: {text!r}")
        user: str | None = None
        if "@" in rest:
            user, _, rest = rest.partition("@")
            if "@" in rest:
                raise SipUriError(f"SIP URI has more than one '@': {text!r}")
            if not user or not _USER.fullmatch(user):
                raise SipUriError(f"invalid user part {user!r} in SIP URI {text!r}")
        hostport, _, param_text = rest.partition(";")
        host, port = _parse_hostport(hostport, text)
        params = _parse_params(param_text, text) if param_text or rest.endswith(";") else ()
        uri = cls("sips" if scheme == "sips" else "sip", user, host, port, params)
        tp = uri.param("transport")
        if tp is not None and tp.lower() not in _TRANSPORTS:
            raise SipUriError(f"unsupported transport {tp!r} in SIP URI {text!r} (udp, tcp, tls)")
        return uri

    def param(self, name: str) -> str | None:
        """Value of a URI parameter (case-insensitive name); None if absent or valueless."""
        lname = name.lower()
        for key, value in self.params:
            if key.lower() == lname:
                return value
        return None

    @property
    def transport(self) -> Transport:
        """Transport the target is reached over (§18: UDP unless the URI says otherwise)."""
        tp = self.param("transport")
        if self.scheme == "sips":
            # §19.1.2: sips means TLS whatever the transport parameter says.
            return "tls"
        return _TRANSPORTS.get((tp or "udp").lower(), "udp")

    @property
    def effective_port(self) -> int:
        """Port to contact: explicit, or the §19.1.2 default for the transport."""
        if self.port is not None:
            return self.port
        return 5061 if self.transport == "tls" else 5060

    @property
    def host_for_uri(self) -> str:
        """Host as printed in a URI or header (IPv6 in brackets)."""
        return f"[{self.host}]" if ":" in self.host else self.host

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out += [self.user, "@"]
        out.append(self.host_for_uri)
        if self.port is not None:
            out.append(f":{self.port}")
        for key, value in self.params:
            out.append(f";{key}" if value is None else f";{key}={value}")
        return "".join(out)


def _parse_hostport(hostport: str, text: str) -> tuple[str, int | None]:
    port_text: str | None = None
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise SipUriError(f"unterminated IPv6 reference '[' in SIP URI {text!r}")
        host = hostport[1:end]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise SipUriError(f"invalid IPv6 address {host!r} in SIP URI {text!r}") from None
        tail = hostport[end + 1 :]
        if tail:
            if not tail.startswith(":"):
                raise SipUriError(f"unexpected {tail!r} after IPv6 address in SIP URI {text!r}")
            port_text = tail[1:]
    else:
        host, colon, port_part = hostport.partition(":")
        if colon:
            port_text = port_part
        if not host:
            raise SipUriError(f"missing host in SIP URI {text!r}")
        if ":" in port_part:
            raise SipUriError(f"IPv6 hosts must be in brackets ([::1]) in SIP URI {text!r}")
        if _IPV4_LIKE.fullmatch(host):
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                raise SipUriError(f"invalid IPv4 address {host!r} in SIP URI {text!r}") from None
        elif not _HOSTNAME.fullmatch(host):
            raise SipUriError(f"invalid host {host!r} in SIP URI {text!r}")
    port: int | None = None
    if port_text is not None:
        if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise SipUriError(f"port must be 1..65535, got {port_text!r} in SIP URI {text!r}")
        port = int(port_text)
    return host, port


def _parse_params(param_text: str, text: str) -> tuple[tuple[str, str | None], ...]:
    params: list[tuple[str, str | None]] = []
    for item in param_text.split(";"):
        name, eq, value = item.partition("=")
        if not _PARAM_NAME.fullmatch(name):
            raise SipUriError(f"invalid URI parameter {item!r} in SIP URI {text!r}")
        if eq and not _PARAM_VALUE.fullmatch(value):
            raise SipUriError(f"invalid value for URI parameter {name!r} in SIP URI {text!r}")
        params.append((name, value if eq else None))
    return tuple(params)
