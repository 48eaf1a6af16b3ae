"""A stateless answering core (RFC 3261 §8.2.6): request in, response out.

Kept pure so the client transaction can be tested against it with no sockets,
and so the asyncio responder only moves bytes around.
"""

from __future__ import annotations

from .message import Headers, Request, Response, Via, make_tag, parse_via

__all__ = ["ALLOWED_METHODS", "answer", "build_response", "response_destination"]

ALLOWED_METHODS = "OPTIONS, ACK"


def build_response(
    request: Request, status: int, reason: str, *, to_tag: str | None = None
) -> Response:
    """A response with the §8.2.6.2 copied fields and a To tag on non-100 answers."""
    headers = Headers()
    for value in request.headers.get_all("Via"):
        headers.add("Via", value)
    headers.add("From", request.headers.get("From") or "")
    to = request.headers.get("To") or ""
    # §8.2.6.2: add a To tag unless there is one already, except on 100 Trying.
    if status != 100 and ";tag=" not in to.replace(" ", "").lower():
        to = f"{to};tag={to_tag or make_tag()}"
    headers.add("To", to)
    headers.add("Call-ID", request.headers.get("Call-ID") or "")
    headers.add("CSeq", request.headers.get("CSeq") or "")
    return Response(status, reason, headers)


def answer(request: Request, *, source: tuple[str, int] | None = None) -> Response | None:
    """What the responder sends back: 200 to OPTIONS, nothing to ACK, 501 otherwise.

    `source` is where the request came from over UDP; it is recorded in the top
    Via (received/rport, §18.2.1 and RFC 3581 §4) so the reply finds its way
    back through NAT.
    """
    if request.method == "ACK":
        # §17: ACK to a non-2xx is absorbed; a stateless UAS never answers it.
        return None
    if request.method == "OPTIONS":
        response = build_response(request, 200, "OK")
        response.headers.add("Allow", ALLOWED_METHODS)
        response.headers.add("Accept", "application/sdp")
        response.headers.add("Supported", "")
    else:
        # §8.2.1: a method we do not implement gets 501.
        response = build_response(request, 501, "Not Implemented")
        response.headers.add("Allow", ALLOWED_METHODS)
    response.headers.add("Content-Length", 0)
    if source is not None:
        vias = response.vias
        top = stamp_via(parse_via(vias[0]), source)
        response.headers.set("Via", str(top))
        for rest in vias[1:]:
            response.headers.add("Via", rest)
    return response


def stamp_via(via: Via, source: tuple[str, int]) -> Via:
    """Add received= and fill rport= as the server side of §18.2.1 and RFC 3581 §4."""
    ip, port = source
    updates: dict[str, str | None] = {}
    if via.host.strip("[]") != ip or via.has_param("rport"):
        updates["received"] = ip
    if via.has_param("rport"):
        updates["rport"] = str(port)
    return via.with_params(**updates) if updates else via


def response_destination(via: Via, source: tuple[str, int]) -> tuple[str, int]:
    """Where a UDP response goes (§18.2.2, RFC 3581 §4): source port if rport, else sent-by."""
    ip, port = source
    if via.has_param("rport"):
        return ip, port
    received = via.param("received")
    if received:
        return received, via.port or 5060
    return via.host.strip("[]"), via.port or 5060
