"""Rendezvous assignment of units over live agents, and the claim plan with fencing tokens."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from monitord.fleet.assignment import Claim, Holding, owner, plan, spread, units

AGENTS = st.lists(st.sampled_from([f"a{i}" for i in range(8)]), min_size=1, max_size=6,
                  unique=True)
UNITS = [f"sip-{i:03d}" for i in range(300)]


def test_units_join_checks_through_services_transitively() -> None:
    checks = ["e", "a", "b", "c", "d", "f"]
    got = units(checks, [["b", "c"], ["c", "d"], ["x-unknown", "e"]])
    assert got == {"e": ("e",), "a": ("a",), "b": ("b", "c", "d"), "f": ("f",)}


def test_unit_names_do_not_depend_on_config_order() -> None:
    assert set(units(["c", "b", "a"], [["c", "b"]])) == set(units(["a", "b", "c"], [["b", "c"]]))


def test_every_unit_has_exactly_one_owner_and_the_load_is_spread() -> None:
    got = spread(UNITS, ["ams1-a", "ams1-b", "ams1-c"])
    assert sorted(u for us in got.values() for u in us) == sorted(UNITS)
    assert all(70 <= len(us) <= 130 for us in got.values()), {a: len(u) for a, u in got.items()}
    assert spread(UNITS, []) == {}
    assert owner("x", []) is None


@settings(max_examples=200)
@given(AGENTS, st.sampled_from([f"a{i}" for i in range(8)]))
def test_an_agent_leaving_moves_only_its_own_units(agents: list[str], gone: str) -> None:
    before = {u: owner(u, agents) for u in UNITS[:100]}
    after = {u: owner(u, [a for a in agents if a != gone]) for u in UNITS[:100]}
    for u in before:
        if before[u] != gone:
            assert after[u] == before[u]


@settings(max_examples=200)
@given(AGENTS, st.sampled_from([f"b{i}" for i in range(4)]))
def test_an_agent_joining_takes_units_only_for_itself(agents: list[str], new: str) -> None:
    for u in UNITS[:100]:
        was, now = owner(u, agents), owner(u, [*agents, new])
        assert now in (was, new)


def test_plan_keeps_claims_free_and_dead_units_and_waits_for_live_holders() -> None:
    live = ["a", "b"]
    mine = [u for u in UNITS[:40] if owner(u, live) == "a"]
    theirs = [u for u in UNITS[:40] if owner(u, live) == "b"]
    holdings = {
        mine[0]: Holding(mine[0], "a", 4),  # ours already
        mine[1]: Holding(mine[1], None, 7),  # released by a clean stop
        mine[2]: Holding(mine[2], "dead", 2),  # its holder is not live
        mine[3]: Holding(mine[3], "b", 9),  # b still runs it: b hands it over
        theirs[0]: Holding(theirs[0], "a", 3),  # ours, but b wins it now
    }
    p = plan("a", UNITS[:40], live, holdings)
    assert p.keep == (mine[0],)
    assert p.claim[:2] == (Claim(mine[1], 7, None), Claim(mine[2], 2, "dead"))
    assert {c.unit for c in p.claim[2:]} == set(mine[4:])  # never held: token 0
    assert all(c.seen == 0 and c.token == 1 for c in p.claim[2:])
    assert p.waiting == (mine[3],)
    assert p.release == (theirs[0],)
    assert not p.quiet


@settings(max_examples=200)
@given(AGENTS)
def test_plans_of_all_live_agents_agree_no_unit_is_claimed_twice(agents: list[str]) -> None:
    holdings = {u: Holding(u, "gone", 5) for u in UNITS[:60]}
    plans = {a: plan(a, UNITS[:60], agents, holdings) for a in agents}
    claimed = Counter(c.unit for p in plans.values() for c in p.claim)
    assert set(claimed) == set(UNITS[:60])
    assert max(claimed.values()) == 1
    # after the claims land, every plan is quiet
    landed = {c.unit: Holding(c.unit, a, c.token) for a, p in plans.items() for c in p.claim}
    assert all(plan(a, UNITS[:60], agents, landed).quiet for a in agents)


def test_an_agent_alone_claims_everything_it_is_not_given() -> None:
    p = plan("solo", ["u1", "u2"], [], {})
    assert [c.unit for c in p.claim] == ["u1", "u2"]
