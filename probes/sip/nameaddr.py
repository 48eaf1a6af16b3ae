"""name-addr / addr-spec values of From, To, Contact, Route and Record-Route (§20.10, §25.1).

Only what dialogs need: the URI, the header parameters (tag, expires, lr
lives in the URI) and a faithful way to print the value back.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SipParseError

__all__ = ["NameAddr", "parse_name_addr"]


@dataclass(frozen=True, slots=True)
class NameAddr:
    """`"Display" <uri>;param=value` split into its parts."""

    uri: str
    display: str | None = None
    params: tuple[tuple[str, str | None], ...] = ()

    def param(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.params if k.lower() == lname), None)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    @property
    def uri_params(self) -> dict[str, str | None]:
        """Parameters of the URI itself (e.g. `lr` on a Record-Route, §19.1.1)."""
        out: dict[str, str | None] = {}
        for item in self.uri.split("?", 1)[0].split(";")[1:]:
            name, eq, value = item.partition("=")
            out[name.strip().lower()] = value if eq else None
        return out

    def with_tag(self, tag: str) -> NameAddr:
        params = tuple((k, v) for k, v in self.params if k.lower() != "tag")
        return NameAddr(self.uri, self.display, (*params, ("tag", tag)))

    def __str__(self) -> str:
        out = f"{self.display} <{self.uri}>" if self.display else f"<{self.uri}>"
        for key, value in self.params:
            out += f";{key}" if value is None else f";{key}={value}"
        return out


def parse_name_addr(value: str) -> NameAddr:
    """Parse one (already comma-split) value; a malformed one raises `SipParseError`."""
    text = value.strip()
    display: str | None = None
    if "<" in text:
        # §20.10: with angle brackets, parameters after '>' are header parameters.
        before, _, rest = text.partition("<")
        uri, close, tail = rest.partition(">")
        if not close:
            raise SipParseError(f"unterminated '<' in {value[:120]!r}")
        display = before.strip() or None
    else:
        # §20.10: without brackets, "any semicolon-delimited parameters are
        # header-parameters, not URI parameters".
        uri, semi, tail = text.partition(";")
        tail = semi + tail
    uri = uri.strip()
    if not uri or ":" not in uri or any(ch.isspace() for ch in uri):
        raise SipParseError(f"no usable URI in {value[:120]!r}")
    params: list[tuple[str, str | None]] = []
    tail = tail.strip()
    if tail and not tail.startswith(";"):
        raise SipParseError(f"unexpected {tail[:40]!r} after the URI in {value[:120]!r}")
    for item in tail.split(";")[1:]:
        name, eq, pvalue = item.partition("=")
        name, pvalue = name.strip(), pvalue.strip()
        if not name:
            raise SipParseError(f"empty parameter in {value[:120]!r}")
        params.append((name, pvalue if eq else None))
    return NameAddr(uri, display, tuple(params))
