"""What a silent agent's timeout says: the community hint only while it never answered."""

from __future__ import annotations

from probes.snmp.answers import LastAnswers, timeout_detail
from probes.snmp.client import SnmpAuth, SnmpEndpoint

V2C = SnmpEndpoint("192.0.2.7", 161, SnmpAuth("v2c", community="s3cret"), retries=1)
V3_PRIV = SnmpEndpoint("192.0.2.7", 161, SnmpAuth("v3", user="noc", auth_protocol="sha",
                                                  auth_key="authpass", priv_protocol="aes",
                                                  priv_key="privpass"))


def test_an_agent_that_never_answered_keeps_the_credentials_hint() -> None:
    answers = LastAnswers()
    detail = timeout_detail(V2C, 2.0, answers.ago(V2C, 100.0))
    assert detail.startswith("no SNMP answer from 192.0.2.7 within 2s (2 attempt(s))")
    assert "a wrong v2c community looks exactly like this" in detail
    assert "wrong v3 privacy password" in timeout_detail(V3_PRIV, 2.0, answers.ago(V3_PRIV, 1.0))


def test_an_agent_that_answered_recently_is_blamed_not_its_community() -> None:
    answers = LastAnswers()
    answers.answered(V2C, 1000.0)
    detail = timeout_detail(V2C, 2.0, answers.ago(V2C, 1090.0))
    assert "community" not in detail and "s3cret" not in detail
    assert "answered these credentials 90 s ago" in detail
    assert "the agent or the path to it stopped answering" in detail
    assert "privacy" not in timeout_detail(V3_PRIV, 2.0, 30.0)


def test_an_answer_long_ago_names_both_suspects() -> None:
    detail = timeout_detail(V2C, 2.0, 3 * 3600.0)
    assert "last answered these credentials 3.0 h ago" in detail
    assert "or its credentials were changed since" in detail


def test_answers_are_remembered_per_agent_and_credentials() -> None:
    answers = LastAnswers()
    answers.answered(V2C, 10.0)
    other_port = SnmpEndpoint("192.0.2.7", 1161, V2C.auth)
    other_community = SnmpEndpoint("192.0.2.7", 161, SnmpAuth("v2c", community="wrong"))
    assert answers.ago(V2C, 15.0) == 5.0
    assert answers.ago(other_port, 15.0) is None
    assert answers.ago(other_community, 15.0) is None, "another community never answered"
