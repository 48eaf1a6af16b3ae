"""Digest access authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760).

Pure functions and one small stateful client (it counts nonce uses). The
header parser is the boundary to the peer, so it keeps the message parser's
promise: any string either parses or raises `DigestParseError`.

Algorithms (RFC 7616 §3.2 / RFC 8760 §2.2): MD5, SHA-256 and SHA-512-256, each
with its "-sess" variant. RFC 8760 §2.4 lets the UAC pick among several
challenges by local policy; ours is "the strongest algorithm offered".
Without `qop` the RFC 2617 §3.2.2.1 form (no cnonce, no nc) is used.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..errors import DigestParseError, LocalProtocolError

__all__ = [
    "Challenge",
    "Credentials",
    "DigestClient",
    "DigestResponse",
    "build_challenge",
    "compute_response",
    "parse_auth_params",
    "parse_authorization",
    "parse_challenge",
    "select_challenge",
    "verify_authorization",
]

# algorithm name (upper case) -> (hashlib name, strength rank); RFC 7616 §6.1 registry.
_ALGORITHMS: dict[str, tuple[str, int]] = {
    "MD5": ("md5", 1),
    "MD5-SESS": ("md5", 1),
    "SHA-256": ("sha256", 2),
    "SHA-256-SESS": ("sha256", 2),
    "SHA-512-256": ("sha512_256", 3),
    "SHA-512-256-SESS": ("sha512_256", 3),
}
_QOPS = ("auth", "auth-int")  # preference order: auth does not hash the body
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# Lenient: some servers send unquoted base64 nonces, with '/', '+' and '=' in them.
_UNQUOTED = re.compile(r"[^\s,\"\\=][^\s,\"\\]*")
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MAX_LEN = 4096
_MAX_NONCES = 16


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """Split `Scheme name=value, name="quoted", ...` into the scheme and its parameters.

    RFC 7235 §2.1 grammar: auth-scheme [ 1*SP #auth-param ], auth-param =
    token BWS "=" BWS ( token / quoted-string ). Names are lower-cased; a name
    given twice is an error ("each parameter name MUST only occur once").
    """
    if not isinstance(value, str):
        raise DigestParseError(f"auth header must be text, got {type(value).__name__}")
    if len(value) > _MAX_LEN:
        raise DigestParseError(f"auth header longer than {_MAX_LEN} characters")
    if _CTL.search(value):
        raise DigestParseError("control character in auth header")
    pos = _ws(value, 0)
    scheme = _TOKEN.match(value, pos)
    if scheme is None:
        raise DigestParseError(f"auth header has no scheme: {value[:80]!r}")
    pos = scheme.end()
    params: dict[str, str] = {}
    if pos < len(value) and value[pos] not in " \t":
        raise DigestParseError(f"no space after the auth scheme in {value[:80]!r}")
    while True:
        pos = _skip(value, pos, ",")
        if pos >= len(value):
            break
        name = _TOKEN.match(value, pos)
        if name is None:
            raise DigestParseError(f"expected a parameter name at {value[pos:pos + 20]!r}")
        pos = _ws(value, name.end())
        if value[pos : pos + 1] != "=":
            raise DigestParseError(f"parameter {name.group()!r} has no '='")
        pos = _ws(value, pos + 1)
        text, pos = _param_value(value, pos)
        key = name.group().lower()
        if key in params:
            raise DigestParseError(f"parameter {key!r} given twice")
        params[key] = text
        pos = _ws(value, pos)
        if pos < len(value) and value[pos] != ",":
            raise DigestParseError(f"expected ',' after parameter {key!r}")
    return scheme.group(), params


def _ws(value: str, pos: int) -> int:
    while pos < len(value) and value[pos] in " \t":
        pos += 1
    return pos


def _skip(value: str, pos: int, chars: str) -> int:
    while pos < len(value) and (value[pos] in chars or value[pos] in " \t"):
        pos += 1
    return pos


def _param_value(value: str, pos: int) -> tuple[str, int]:
    if value[pos : pos + 1] == '"':
        out: list[str] = []
        pos += 1
        while pos < len(value):
            ch = value[pos]
            if ch == "\\":
                if pos + 1 >= len(value):
                    break
                out.append(value[pos + 1])  # quoted-pair (RFC 7230 §3.2.6)
                pos += 2
                continue
            if ch == '"':
                return "".join(out), pos + 1
            out.append(ch)
            pos += 1
        raise DigestParseError("unterminated quoted string in auth header")
    match = _UNQUOTED.match(value, pos)
    if match is None:
        raise DigestParseError(f"expected a parameter value at {value[pos:pos + 20]!r}")
    return match.group(), match.end()


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and password; the password never appears in repr/str."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.username or _CTL.search(self.username) or _CTL.search(self.password):
            raise LocalProtocolError("credentials must be non-empty text without control characters")


@dataclass(frozen=True, slots=True)
class Challenge:
    """One Digest challenge from a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False
    proxy: bool = False

    @property
    def supported(self) -> bool:
        """We can answer it: known algorithm, and a qop we do (or none, RFC 2617 style)."""
        algorithm = self.algorithm.upper()
        if algorithm not in _ALGORITHMS:
            return False
        if not self.qop:
            # RFC 2617 §3.2.2.2: "-sess" needs a cnonce, which only exists with qop.
            return not algorithm.endswith("-SESS")
        return any(q in _QOPS for q in self.qop)

    @property
    def strength(self) -> int:
        return _ALGORITHMS.get(self.algorithm.upper(), ("", 0))[1]

    @property
    def authorization_header(self) -> str:
        """RFC 3261 §22.3: Proxy-Authorization answers 407, Authorization answers 401."""
        return "Proxy-Authorization" if self.proxy else "Authorization"


def parse_challenge(value: str, *, proxy: bool = False) -> Challenge:
    """Parse one WWW-Authenticate / Proxy-Authenticate value (RFC 7616 §3.3)."""
    scheme, params = parse_auth_params(value)
    if scheme.lower() != "digest":
        raise DigestParseError(f"not a Digest challenge: scheme {scheme!r}")
    realm, nonce = params.get("realm"), params.get("nonce")
    if realm is None or not nonce:
        raise DigestParseError("Digest challenge lacks realm or nonce")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=realm,
        nonce=nonce,
        algorithm=params.get("algorithm", "MD5"),
        qop=qop,
        opaque=params.get("opaque"),
        # RFC 7616 §3.3: stale "is case-insensitive"; anything but "true" means false.
        stale=params.get("stale", "").lower() == "true",
        userhash=params.get("userhash", "").lower() == "true",
        proxy=proxy,
    )


def select_challenge(values: Iterable[str], *, proxy: bool = False) -> Challenge | None:
    """The challenge we answer among several rows: the strongest supported algorithm.

    Rows that are not Digest (Basic, Bearer) or do not parse are skipped here:
    a server may offer schemes we do not speak next to one we do (RFC 8898 §3).
    Ties keep the topmost row (RFC 8760 §2.4: the server lists its preference first).
    """
    best: Challenge | None = None
    for value in values:
        try:
            challenge = parse_challenge(value, proxy=proxy)
        except DigestParseError:
            continue
        if challenge.supported and (best is None or challenge.strength > best.strength):
            best = challenge
    return best


def _hash(algorithm: str, text: str | bytes) -> str:
    name = _ALGORITHMS[algorithm.upper()][0]
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.new(name, data).hexdigest()


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The `response` value: KD(H(A1), nonce:nc:cnonce:qop:H(A2)) per RFC 7616 §3.4.1.

    Without qop: H(H(A1):nonce:H(A2)) (RFC 2617 §3.2.2.1, kept by RFC 3261 §22.4).
    """
    if algorithm.upper() not in _ALGORITHMS:
        raise LocalProtocolError(f"unsupported digest algorithm {algorithm!r}")
    # RFC 7616 §3.4.2: A1 = username:realm:password; for "-sess",
    # A1 = H(username:realm:password):nonce:cnonce.
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    # RFC 7616 §3.4.3: A2 = method:uri, or method:uri:H(entity-body) for auth-int.
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + _hash(algorithm, body)
    ha2 = _hash(algorithm, a2)
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


class DigestClient:
    """Answers challenges for one set of credentials, counting uses of each nonce.

    RFC 7616 §3.4: nc "is the hexadecimal count of the number of requests
    (including the current request) that the client has sent with the nonce
    value in this request"; a new nonce starts again at 00000001.
    """

    __slots__ = ("_cnonce", "_counts", "_credentials")

    def __init__(
        self, credentials: Credentials, *, cnonce: Callable[[], str] | None = None
    ) -> None:
        self._credentials = credentials
        self._cnonce = cnonce or (lambda: secrets.token_hex(12))
        self._counts: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"DigestClient(username={self._credentials.username!r})"

    def nonce_count(self, nonce: str) -> int:
        """How many requests were sent with this nonce so far."""
        return self._counts.get(nonce, 0)

    def authorize(
        self, challenge: Challenge, *, method: str, uri: str, body: bytes = b""
    ) -> tuple[str, str]:
        """(header name, header value) answering `challenge` for this request."""
        if not challenge.supported:
            raise LocalProtocolError(
                f"cannot answer challenge with algorithm {challenge.algorithm!r} qop {challenge.qop!r}"
            )
        creds = self._credentials
        algorithm = challenge.algorithm.upper()
        qop = next((q for q in _QOPS if q in challenge.qop), None)
        nc = cnonce = ""
        if qop is not None:
            if challenge.nonce not in self._counts and len(self._counts) >= _MAX_NONCES:
                self._counts.pop(next(iter(self._counts)))
            count = self._counts.get(challenge.nonce, 0) + 1
            self._counts[challenge.nonce] = count
            nc, cnonce = f"{count:08x}", self._cnonce()
        response = compute_response(
            algorithm=algorithm, username=creds.username, realm=challenge.realm,
            password=creds.password, nonce=challenge.nonce, method=method, uri=uri,
            qop=qop, nc=nc, cnonce=cnonce, body=body,
        )
        username = creds.username
        if challenge.userhash:
            # RFC 7616 §3.4.4: username = H(unq(username) ":" unq(realm)).
            username = _hash(algorithm, f"{username}:{challenge.realm}")
        parts = [
            f"username={_quote(username)}",
            f"realm={_quote(challenge.realm)}",
            f"nonce={_quote(challenge.nonce)}",
            f"uri={_quote(uri)}",
            f"response={_quote(response)}",
            f"algorithm={challenge.algorithm}",
        ]
        if challenge.opaque is not None:
            parts.append(f"opaque={_quote(challenge.opaque)}")
        if qop is not None:
            # RFC 7616 §3.4: qop and nc are unquoted; cnonce is a quoted string.
            parts += [f"qop={qop}", f"nc={nc}", f"cnonce={_quote(cnonce)}"]
        if challenge.userhash:
            parts.append("userhash=true")
        return challenge.authorization_header, "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class DigestResponse:
    """A parsed Authorization / Proxy-Authorization value (the UAS side)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str = ""
    cnonce: str = ""
    opaque: str | None = None
    userhash: bool = False


def parse_authorization(value: str) -> DigestResponse:
    """Parse an Authorization value; missing mandatory fields raise `DigestParseError`."""
    scheme, params = parse_auth_params(value)
    if scheme.lower() != "digest":
        raise DigestParseError(f"not Digest credentials: scheme {scheme!r}")
    missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
    if missing:
        raise DigestParseError(f"Digest credentials lack {', '.join(missing)}")
    qop = params.get("qop")
    if qop is not None and ("nc" not in params or "cnonce" not in params):
        # RFC 7616 §3.4: cnonce and nc MUST be sent when qop is.
        raise DigestParseError("Digest credentials with qop lack nc or cnonce")
    return DigestResponse(
        username=params["username"], realm=params["realm"], nonce=params["nonce"],
        uri=params["uri"], response=params["response"],
        algorithm=params.get("algorithm", "MD5"), qop=qop, nc=params.get("nc", ""),
        cnonce=params.get("cnonce", ""), opaque=params.get("opaque"),
        userhash=params.get("userhash", "").lower() == "true",
    )


def verify_authorization(
    credentials: DigestResponse, *, expected: Credentials, method: str, body: bytes = b""
) -> bool:
    """Whether the peer proved knowledge of `expected` (constant-time comparison)."""
    algorithm = credentials.algorithm.upper()
    if algorithm not in _ALGORITHMS or credentials.qop not in (None, *_QOPS):
        return False
    username = expected.username
    if credentials.userhash:
        username = _hash(algorithm, f"{username}:{credentials.realm}")
    if not hmac.compare_digest(credentials.username.encode(), username.encode()):
        return False
    wanted = compute_response(
        algorithm=algorithm, username=expected.username, realm=credentials.realm,
        password=expected.password, nonce=credentials.nonce, method=method,
        uri=credentials.uri, qop=credentials.qop, nc=credentials.nc,
        cnonce=credentials.cnonce, body=body,
    )
    return hmac.compare_digest(wanted.encode(), credentials.response.lower().encode())


def build_challenge(
    *,
    realm: str,
    nonce: str,
    algorithm: str = "MD5",
    qop: tuple[str, ...] = ("auth",),
    opaque: str | None = None,
    stale: bool = False,
) -> str:
    """A WWW-Authenticate / Proxy-Authenticate value (the UAS side, RFC 7616 §3.3)."""
    parts = [f"realm={_quote(realm)}", f"nonce={_quote(nonce)}", f"algorithm={algorithm}"]
    if qop:
        parts.append(f"qop={_quote(','.join(qop))}")
    if opaque is not None:
        parts.append(f"opaque={_quote(opaque)}")
    if stale:
        parts.append("stale=true")
    return "Digest " + ", ".join(parts)
