"""snmp_oid comparators and row rules, without a network: the rules are pure functions."""

from __future__ import annotations

import re

import pytest

from probes.errors import NotComparable
from probes.snmp.oid import Expectation, evaluate_rows, violation
from probes.snmp.oids import normalize_oid, under


@pytest.mark.parametrize(
    ("value", "expect", "broken"),
    [
        (1, Expectation(equals=1), False),
        ("1", Expectation(equals=1), False),  # numbers compare as numbers
        (2, Expectation(equals=1), True),
        ("up", Expectation(equals="up"), False),
        ("down", Expectation(not_equals="down"), True),
        (5, Expectation(less_than=10), False),
        (10, Expectation(less_than=10), True),
        (11, Expectation(greater_than=10), False),
        (10, Expectation(greater_than=10), True),
        ("kamailio -f /etc/k.cfg", Expectation(matches=re.compile(r"^kamailio\b")), False),
        ("asterisk", Expectation(matches=re.compile(r"^kamailio\b")), True),
        ("0.75", Expectation(less_than=1.0, greater_than=0.5), False),
    ],
)
def test_value_comparators(value: int | str, expect: Expectation, broken: bool) -> None:
    assert (violation(value, expect) is not None) is broken


def test_text_where_a_number_is_needed_is_not_comparable() -> None:
    with pytest.raises(NotComparable):
        violation("n/a", Expectation(less_than=3))


def test_rows_are_picked_by_where_then_counted_then_each_checked() -> None:
    procs = {"1": "systemd", "17": "kamailio", "18": "kamailio", "19": "rtpengine"}
    assert evaluate_rows(procs, Expectation(where=re.compile("^kamailio$"), min_rows=2)) == (2, [])
    n, problems = evaluate_rows(procs, Expectation(where=re.compile("^kamailio$"), min_rows=4))
    assert (n, problems) == (2, ["2 row(s), fewer than min_rows 4"])
    assert evaluate_rows(procs, Expectation(max_rows=3))[1] == ["4 row(s), more than max_rows 3"]


def test_tenant_rows_must_all_be_up_and_failures_name_the_rows() -> None:
    tenants = {str(i): 1 for i in range(1, 11)}
    assert evaluate_rows(tenants, Expectation(equals=1, min_rows=10)) == (10, [])
    for i in (2, 3, 4, 5, 6, 7, 8):
        tenants[str(i)] = 2
    n, problems = evaluate_rows(tenants, Expectation(equals=1))
    assert n == 10
    assert problems[0] == "row 2: 2 != 1"
    assert problems[-1] == "and 2 more row(s)"  # at most five rows are named


def test_oid_helpers() -> None:
    assert normalize_oid(".1.3.6.1.2.1.1.3.0") == "1.3.6.1.2.1.1.3.0"
    for bad in ("sysUpTime.0", "1", "3.6.1", "1.3.x"):
        with pytest.raises(ValueError):
            normalize_oid(bad)
    assert under("1.3.6.1.2.1.25.2.3.1.3.31", "1.3.6.1.2.1.25.2.3.1.3")
    assert not under("1.3.6.1.2.1.25.2.3.1.30.1", "1.3.6.1.2.1.25.2.3.1.3")
