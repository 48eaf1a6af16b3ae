"""Digest authentication (RFC 7616, RFC 8760, RFC 2617) against the RFCs' own worked examples."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.errors import DigestParseError, LocalProtocolError, RemoteProtocolError
from probes.sip.digest import (
    Challenge,
    Credentials,
    DigestClient,
    build_challenge,
    compute_response,
    parse_auth_params,
    parse_authorization,
    parse_challenge,
    select_challenge,
    verify_authorization,
)

# RFC 7616 §3.9.1: "the username for this document is "Mufasa" and the password
# is "Circle of Life"" (errata 4495: lower-case "of").
MUFASA = Credentials("Mufasa", "Circle of Life")
RFC7616_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_example(algorithm: str, expected: str) -> None:
    challenge = parse_challenge(RFC7616_CHALLENGE.format(alg=algorithm))
    assert challenge.qop == ("auth", "auth-int") and challenge.algorithm == algorithm
    client = DigestClient(MUFASA, cnonce=lambda: RFC7616_CNONCE)
    name, value = client.authorize(challenge, method="GET", uri="/dir/index.html")
    assert name == "Authorization"
    scheme, params = parse_auth_params(value)
    assert scheme == "Digest"
    assert params["response"] == expected
    assert (params["nc"], params["qop"], params["cnonce"]) == ("00000001", "auth", RFC7616_CNONCE)
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    assert params["username"] == "Mufasa" and params["uri"] == "/dir/index.html"
    # The UAS side accepts exactly this answer, and not with another password.
    parsed = parse_authorization(value)
    assert verify_authorization(parsed, expected=MUFASA, method="GET")
    assert not verify_authorization(parsed, expected=Credentials("Mufasa", "x"), method="GET")
    assert not verify_authorization(parsed, expected=MUFASA, method="POST")


def test_rfc2617_section_3_5_example() -> None:
    # RFC 2617 §3.5 (password "Circle Of Life", capital O there).
    response = compute_response(
        algorithm="MD5", username="Mufasa", realm="testrealm@host.com",
        password="Circle Of Life", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method="GET", uri="/dir/index.html", qop="auth", nc="00000001", cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_without_qop_uses_the_rfc2617_compatibility_form() -> None:
    challenge = parse_challenge('Digest realm="biloxi.com", nonce="abc123"')
    assert challenge.algorithm == "MD5" and challenge.qop == () and challenge.supported
    client = DigestClient(Credentials("bob", "zanzibar"))
    _, value = client.authorize(challenge, method="INVITE", uri="sip:bob@biloxi.com")
    params = parse_auth_params(value)[1]
    assert "nc" not in params and "cnonce" not in params and "qop" not in params
    # RFC 2617 §3.2.2.1: response = KD(H(A1), nonce ":" H(A2)) with KD(s, d) = H(s:d).
    import hashlib

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5("bob:biloxi.com:zanzibar"), md5("INVITE:sip:bob@biloxi.com")
    assert params["response"] == md5(f"{ha1}:abc123:{ha2}")
    assert verify_authorization(parse_authorization(value), expected=Credentials("bob", "zanzibar"),
                                method="INVITE")


def test_nonce_count_increments_per_nonce_and_restarts_for_a_new_one() -> None:
    client = DigestClient(MUFASA)
    first = parse_challenge('Digest realm="r", nonce="n1", qop="auth"')
    second = parse_challenge('Digest realm="r", nonce="n2", qop="auth", stale=TRUE')
    assert second.stale
    ncs = [parse_auth_params(client.authorize(first, method="INVITE", uri="sip:x")[1])[1]["nc"]
           for _ in range(3)]
    assert ncs == ["00000001", "00000002", "00000003"]
    value = client.authorize(second, method="INVITE", uri="sip:x")[1]
    assert parse_auth_params(value)[1]["nc"] == "00000001"
    assert client.nonce_count("n1") == 3 and client.nonce_count("n2") == 1


@pytest.mark.parametrize("algorithm", ["MD5-sess", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"])
def test_other_algorithms_round_trip(algorithm: str) -> None:
    header = build_challenge(realm="atlanta.com", nonce="xyz", algorithm=algorithm, opaque="o")
    challenge = parse_challenge(header, proxy=True)
    name, value = DigestClient(MUFASA).authorize(challenge, method="BYE", uri="sip:a@b")
    assert name == "Proxy-Authorization"
    parsed = parse_authorization(value)
    assert parsed.algorithm == algorithm and parsed.opaque == "o"
    assert verify_authorization(parsed, expected=MUFASA, method="BYE")


def test_auth_int_and_userhash() -> None:
    challenge = parse_challenge('Digest realm="r", nonce="n", qop="auth-int", userhash=true, '
                                "algorithm=SHA-256")
    _, value = DigestClient(MUFASA).authorize(challenge, method="INVITE", uri="sip:x", body=b"v=0")
    parsed = parse_authorization(value)
    assert parsed.qop == "auth-int" and parsed.userhash and parsed.username != "Mufasa"
    assert verify_authorization(parsed, expected=MUFASA, method="INVITE", body=b"v=0")
    assert not verify_authorization(parsed, expected=MUFASA, method="INVITE", body=b"v=1")


def test_the_strongest_supported_challenge_wins() -> None:
    rows = [
        'Digest realm="r", nonce="a", algorithm=MD5, qop="auth"',
        "Basic realm=\"r\"",
        'Digest realm="r", nonce="b", algorithm=SHA-256, qop="auth"',
        'Digest realm="r", nonce="c", algorithm=SHA3-FANCY, qop="auth"',
        "Digest garbage",
        'Digest realm="r", nonce="d", algorithm=SHA-256, qop="auth"',
    ]
    chosen = select_challenge(rows)
    assert chosen is not None and (chosen.algorithm, chosen.nonce) == ("SHA-256", "b")
    assert select_challenge(["Basic realm=x", 'Digest realm="r", nonce="n", qop="auth-conf"']) is None
    # RFC 2617 §3.2.2.2: "-sess" needs a cnonce, which only exists with qop.
    assert not parse_challenge('Digest realm="r", nonce="n", algorithm=MD5-sess').supported
    with pytest.raises(LocalProtocolError):
        DigestClient(MUFASA).authorize(Challenge("r", "n", "SHA3"), method="INVITE", uri="sip:x")


def test_parser_copes_with_quoting_commas_and_spacing() -> None:
    scheme, params = parse_auth_params(
        'digest  realm = "a, \\"quoted\\" realm" ,, nonce=abc/def+=,qop="auth,auth-int",  '
        "algorithm=md5 ,stale=true,"
    )
    assert scheme == "digest"
    assert params == {"realm": 'a, "quoted" realm', "nonce": "abc/def+=", "qop": "auth,auth-int",
                      "algorithm": "md5", "stale": "true"}
    challenge = parse_challenge('Digest realm="a\\\\b", nonce="n"')
    assert challenge.realm == "a\\b"


@pytest.mark.parametrize(
    "value",
    [
        "", "   ", "Digest realm", 'Digest realm="unterminated', "Digest realm=a realm=b",
        "Digest realm=a, realm=b", 'Digest nonce="n"', 'Basic realm="r"', "Digest=x",
        'Digest realm="r", nonce=""', "Digest realm=\x01",
    ],
)
def test_malformed_challenges_raise_one_error_type(value: str) -> None:
    with pytest.raises(DigestParseError):
        parse_challenge(value)
    assert issubclass(DigestParseError, RemoteProtocolError)


def test_credentials_never_show_their_password() -> None:
    secret = "s3cr3t-Pa55"
    creds = Credentials("alice", secret)
    client = DigestClient(creds)
    challenge = parse_challenge('Digest realm="r", nonce="n", qop="auth"')
    header = client.authorize(challenge, method="INVITE", uri="sip:x")[1]
    for text in (repr(creds), str(creds), repr(client), str(client), header):
        assert secret not in text
    with pytest.raises(LocalProtocolError):
        Credentials("", "x")


AUTH_TEXT = st.text(
    alphabet=st.sampled_from([*'Digest realm nonce qop algorithm=,"\\ \tabc/+-', "\x00", "é"]),
    max_size=80,
)


@given(st.one_of(st.text(max_size=120), AUTH_TEXT))
def test_any_text_parses_or_raises_digest_parse_error(value: str) -> None:
    for parse in (parse_challenge, parse_authorization, parse_auth_params):
        with contextlib.suppress(DigestParseError):
            parse(value)  # type: ignore[operator]
    select_challenge([value])  # never raises: bad rows are skipped


@given(st.text(min_size=1, max_size=30).filter(lambda s: s.isprintable()),
       st.text(max_size=30).filter(lambda s: s.isprintable()))
def test_built_challenges_parse_back(realm: str, opaque: str) -> None:
    header = build_challenge(realm=realm, nonce="n0nce", opaque=opaque, stale=True)
    challenge = parse_challenge(header)
    assert (challenge.realm, challenge.opaque, challenge.stale) == (realm, opaque, True)
