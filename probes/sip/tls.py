"""SIP over TLS (RFC 3261 §26.2, RFC 5630): client contexts, failure reasons, expiry.

A NOC pointing monitord at `sips:sbc.example.net` must get what its phones
get, so verification is on by default (system CA store, or a configured CA
file for private PKIs), the SNI and the checked name are the target host (or
a configured `server_name` when the target is an IP), and a failed handshake
becomes a `tls_failure` whose detail is OpenSSL's own verdict ("certificate
has expired", "Hostname mismatch ..."). The server certificate's notAfter is
handed to the probe because an expiring SBC certificate is an outage waiting.
"""

from __future__ import annotations

import functools
import ssl
import time
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ..base import FailureReason

__all__ = [
    "TlsSettings",
    "certificate_not_after",
    "client_context",
    "describe_tls_error",
    "expiry_days",
]


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """How to trust a TLS target; the defaults are what a phone does."""

    ca_file: str | None = None  # PEM bundle; None = the system store
    verify: bool = True  # False only for lab targets: the expiry is still measured
    server_name: str | None = None  # SNI and the verified name; None = the target host


@functools.lru_cache(maxsize=64)
def client_context(settings: TlsSettings) -> ssl.SSLContext:
    """One context per distinct settings (building one reads the CA store)."""
    ctx = ssl.create_default_context(cafile=settings.ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 8996 retires TLS 1.0/1.1
    if not settings.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def describe_tls_error(exc: ssl.SSLError, where: str, name: str) -> tuple[FailureReason, str]:
    """A handshake failure as the reason and the sentence a NOC reads."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        verdict = exc.verify_message or exc.reason or str(exc)
        return FailureReason.TLS, f"TLS certificate of {where} (as {name!r}) rejected: {verdict}"
    return FailureReason.TLS, f"TLS handshake with {where} failed: {exc.reason or exc}"


def certificate_not_after(ssl_object: Any) -> float | None:
    """The peer certificate's notAfter (Unix time), verified or not; None if none was sent."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def expiry_days(not_after: float, now: float | None = None) -> float:
    """Days until the certificate expires (negative once it has): the exported gauge."""
    return round((not_after - (time.time() if now is None else now)) / 86400.0, 3)
