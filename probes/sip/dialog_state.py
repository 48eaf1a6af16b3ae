"""Dialog state shared by the UAC and UAS cores (RFC 3261 §12).

A dialog is the peer-to-peer relationship that an answered (or early) INVITE
creates: Call-ID plus both tags identify it; it remembers the remote target
(the peer's Contact), the route set (from Record-Route) and both CSeq
counters, and builds every later request in it (§12.2.1.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SipParseError
from .message import Headers, Request, Response, split_header_list
from .nameaddr import NameAddr, parse_name_addr

__all__ = ["Dialog", "contact_uri", "record_route"]


def contact_uri(message: Request | Response) -> str | None:
    """URI of the first Contact value, or None when absent."""
    values = [v for row in message.headers.get_all("Contact") for v in split_header_list(row)]
    return parse_name_addr(values[0]).uri if values else None


def record_route(message: Request | Response) -> tuple[str, ...]:
    """Every Record-Route value, top first, comma-combined rows split (§7.3.1)."""
    values = [v for row in message.headers.get_all("Record-Route") for v in split_header_list(row)]
    for value in values:
        parse_name_addr(value)  # reject garbage now rather than when routing a BYE
    return tuple(values)


@dataclass(slots=True)
class Dialog:
    """One dialog's state (§12: "dialog state"), from either side."""

    call_id: str
    local: NameAddr  # our From (UAC) / To (UAS), carrying our tag
    remote: NameAddr  # the peer's, carrying its tag
    remote_target: str
    route_set: tuple[str, ...]
    local_seq: int
    remote_seq: int | None
    confirmed: bool = False

    @property
    def id(self) -> tuple[str, str, str]:
        """§12: "Call-ID, local tag, remote tag"."""
        return self.call_id, self.local.tag or "", self.remote.tag or ""

    @classmethod
    def for_uac(cls, request: Request, response: Response) -> Dialog:
        """§12.1.2: the dialog a UAC builds from a 101-199 with a tag or a 2xx."""
        to = parse_name_addr(response.headers.get("To") or "")
        if not to.tag:
            raise SipParseError(f"{response.status} response creating a dialog has no To tag")
        return cls(
            call_id=request.headers.get("Call-ID") or "",
            local=parse_name_addr(request.headers.get("From") or ""),
            remote=to,
            # §12.1.2: "The remote target MUST be set to the URI from the Contact
            # header field of the response." (Request-URI if the peer left it out.)
            remote_target=contact_uri(response) or request.uri,
            # §12.1.2: "The route set MUST be set to the list of URIs in the
            # Record-Route header field from the response, taken in reverse order".
            route_set=tuple(reversed(record_route(response))),
            # §12.1.2: "The local sequence number MUST be set to the value of the
            # sequence number in the CSeq header field of the request. The remote
            # sequence number MUST be empty."
            local_seq=request.cseq[0],
            remote_seq=None,
            confirmed=response.status >= 200,
        )

    @classmethod
    def for_uas(cls, request: Request, local_tag: str) -> Dialog:
        """§12.1.1: the dialog a UAS builds when it answers an INVITE."""
        return cls(
            call_id=request.headers.get("Call-ID") or "",
            local=parse_name_addr(request.headers.get("To") or "").with_tag(local_tag),
            remote=parse_name_addr(request.headers.get("From") or ""),
            # §12.1.1: "The remote target MUST be set to the URI from the Contact
            # header field of the request."
            remote_target=contact_uri(request) or request.uri,
            # §12.1.1: "The route set MUST be set to the list of URIs in the
            # Record-Route header field from the request, taken in order".
            route_set=record_route(request),
            # §12.1.1: "The local sequence number MUST be empty" - we start at 0
            # and number our first request 1 (§8.1.1.5 allows any start).
            local_seq=0,
            remote_seq=request.cseq[0],
        )

    def update_from_2xx(self, response: Response) -> None:
        """§13.2.2.4: on the 2xx, confirm the early dialog and recompute its routes."""
        self.confirmed = True
        self.remote_target = contact_uri(response) or self.remote_target
        self.route_set = tuple(reversed(record_route(response)))

    @property
    def next_hop(self) -> str:
        """Where the dialog's requests go (§8.1.2): the first route, else the remote target."""
        return parse_name_addr(self.route_set[0]).uri if self.route_set else self.remote_target

    def matches_request(self, request: Request) -> bool:
        """§12.2.2: a request belongs to the dialog when Call-ID and both tags match."""
        from_tag = parse_name_addr(request.headers.get("From") or "").tag
        to_tag = parse_name_addr(request.headers.get("To") or "").tag
        return (request.headers.get("Call-ID"), to_tag, from_tag) == self.id

    def request(
        self,
        method: str,
        *,
        via: str,
        cseq: int | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A request within the dialog (§12.2.1.1)."""
        if cseq is None:
            # §12.2.1.1: "the CSeq header field value MUST be the local sequence
            # number of the dialog incremented by one" (ACK and CANCEL pass theirs).
            self.local_seq += 1
            cseq = self.local_seq
        routes = list(self.route_set)
        uri = self.remote_target
        if routes and "lr" not in parse_name_addr(routes[0]).uri_params:
            # §12.2.1.1 strict routing: "place the first URI from the route set
            # into the Request-URI [...] add a Route header field containing the
            # remainder of the route set values in order [...] then place the
            # remote target URI into the Route header field as the last value".
            uri = parse_name_addr(routes.pop(0)).uri
            routes.append(f"<{self.remote_target}>")
        headers = Headers()
        headers.add("Via", via)
        headers.add("Max-Forwards", 70)
        headers.add("From", str(self.local))
        headers.add("To", str(self.remote))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        for route in routes:
            # §12.2.1.1: loose routing keeps the remote target as Request-URI and
            # lists the route set, in order, in Route.
            headers.add("Route", route)
        if content_type is not None:
            headers.add("Content-Type", content_type)
        return Request(method, uri, headers, body)
