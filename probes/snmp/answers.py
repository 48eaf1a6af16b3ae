"""What an SNMP agent's answer, or its silence, says (pure: no socket, no clock).

`timeout_detail` words a silent agent's timeout for a NOC engineer: a wrong
community (or v3 privacy password) is silence too, so that hint is given only
for credentials the agent never answered since start (`LastAnswers`); an agent
that answered them recently is down, or the path to it is. `get_values` turns
a pre-encoded GET's response (probes/snmp/ber.py) into values or the error it
reports, worded as pysnmp's path words them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes.base import FailureReason
from probes.errors import SnmpError
from probes.snmp.ber import GetResponse, VarBindException

if TYPE_CHECKING:
    from probes.snmp.client import SnmpAuth, SnmpEndpoint, Value

__all__ = ["RECENTLY", "LastAnswers", "get_values", "timeout_detail"]

RECENTLY = 3600.0  # seconds: an agent that answered this recently has the right credentials


class LastAnswers:
    """When each agent last answered validly, per credentials (loop clock; pure).

    A silent agent that answered the same community a minute ago has not had its
    community changed: the agent or the path to it stopped answering. Only an agent
    that never answered since start keeps the "wrong community" hint.
    """

    def __init__(self) -> None:
        self._at: dict[tuple[str, int, SnmpAuth], float] = {}

    def answered(self, ep: SnmpEndpoint, now: float) -> None:
        self._at[(ep.host, ep.port, ep.auth)] = now

    def ago(self, ep: SnmpEndpoint, now: float) -> float | None:
        """Seconds since its last valid answer; None if it never answered."""
        at = self._at.get((ep.host, ep.port, ep.auth))
        return None if at is None else max(0.0, now - at)


def timeout_detail(ep: SnmpEndpoint, waited: float, answered_ago: float | None = None) -> str:
    """What a NOC engineer should suspect when an agent stays silent."""
    attempts = ep.retries + 1
    text = f"no SNMP answer from {ep.device} within {waited:.3g}s ({attempts} attempt(s))"
    if answered_ago is not None:
        when = _ago(answered_ago)
        if answered_ago <= RECENTLY:
            return (text + f"; it answered these credentials {when} ago, so the agent or the"
                    " path to it stopped answering (check the device, its SNMP service and"
                    " filters on the way)")
        return (text + f"; it last answered these credentials {when} ago: the agent or the path"
                " stopped answering, or its credentials were changed since")
    if ep.auth.version != "v3":
        return (
            text + "; agents silently drop requests with a wrong community, so a wrong"
            f" {ep.auth.version} community looks exactly like this"
        )
    if ep.auth.level == "authPriv":
        return text + "; a wrong v3 privacy password looks exactly like this (the agent cannot decrypt the request)"
    return text


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def get_values(ep: SnmpEndpoint, response: GetResponse, latency: float
                ) -> tuple[dict[str, Value], float]:
    """A GET response's values, as `SnmpClient.get` returns them, or its error."""
    pairs = response.varbinds
    if response.error_status:
        name, index = response.error_name, response.error_index
        at = pairs[index - 1][0] if 0 < index <= len(pairs) else "?"
        if name == "noSuchName":  # SNMPv1's way of saying noSuchObject
            raise SnmpError(FailureReason.NO_SUCH_OBJECT,
                            f"{ep.device} has no object {at} (noSuchName)", latency)
        if name in ("authorizationError", "noAccess"):
            raise SnmpError(FailureReason.AUTH, f"{ep.device} refused access to {at} ({name})",
                            latency)
        raise SnmpError(FailureReason.STATUS, f"{ep.device} answered {name} for {at}", latency)
    out: dict[str, Value] = {}
    for oid, value in pairs:
        if isinstance(value, VarBindException):
            raise SnmpError(
                FailureReason.NO_SUCH_OBJECT,
                f"{ep.device} has no object {oid} ({value.name}): check the OID and the agent's"
                " view", latency)
        if isinstance(value, bytes):
            try:
                out[oid] = value.decode("utf-8")
            except UnicodeDecodeError:
                out[oid] = "0x" + value.hex()
        else:
            out[oid] = "" if value is None else value
    return out, latency


