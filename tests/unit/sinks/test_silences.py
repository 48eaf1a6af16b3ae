"""Maintenance silences: what the book asks of Alertmanager after each step, without a wire.

The wire (a real Alertmanager, restarts of both sides) is in
tests/integration/test_maintenance_silences.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitord.core.events import MaintenanceEnded, MaintenanceStarted
from monitord.sinks.silences import CREATED_BY, SilenceBook, window_key

T0 = datetime(2025, 3, 28, 19, 0, tzinfo=UTC)
KEY = "ams/voice/friday/2025-03-28T19:00:00Z"


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


END = T0 + timedelta(hours=7)


def started(end: datetime | None = END, key: str = KEY) -> MaintenanceStarted:
    return MaintenanceStarted("voice", "friday", "regular", T0, T0, end, key)


def ended(key: str = KEY) -> MaintenanceEnded:
    return MaintenanceEnded("voice", "friday", "regular", T0, t(420), "elapsed", key)


def in_am(body: dict[str, Any], ident: str, state: str = "active") -> dict[str, Any]:
    """What Alertmanager lists for a silence it was given."""
    return {**body, "id": ident, "status": {"state": state}}


def test_a_running_window_gets_one_silence_on_site_and_service_until_its_end() -> None:
    book = SilenceBook("ams")
    book.consume(started())
    plan = book.plan([], t(1))
    assert plan.expire == []
    (body,) = plan.create
    assert body["matchers"] == [
        {"name": "site", "value": "ams", "isRegex": False, "isEqual": True},
        {"name": "service", "value": "voice", "isRegex": False, "isEqual": True}]
    assert (body["startsAt"], body["endsAt"]) == ("2025-03-28T19:01:00Z", "2025-03-29T02:00:00Z")
    assert body["createdBy"] == CREATED_BY and window_key(body["comment"]) == KEY
    # the same silence found again (a restarted daemon, a second round): nothing to do
    assert not book.plan([in_am(body, "s1")], t(2))


def test_the_window_ending_expires_its_silence_and_touches_no_one_elses() -> None:
    book = SilenceBook("ams")
    book.consume(started())
    ours = in_am(book.plan([], t(1)).create[0], "s1")
    other_site = in_am({**ours, "comment": "[monitord-maintenance lon/voice/x/y]"}, "s2")
    by_hand = in_am({**ours, "createdBy": "alice"}, "s3")
    old = in_am(ours, "s4", state="expired")
    book.consume(ended())
    plan = book.plan([ours, other_site, by_hand, old], t(421))
    assert plan.expire == ["s1"] and plan.create == []


def test_a_lost_silence_is_created_again_and_a_duplicate_expired() -> None:
    book = SilenceBook("ams")
    book.consume(started())
    body = book.plan([], t(1)).create[0]
    assert len(book.plan([in_am(body, "gone", state="expired")], t(5)).create) == 1  # AM lost it
    plan = book.plan([in_am(body, "s1"), in_am(body, "s2")], t(5))
    assert plan.expire == ["s2"] and plan.create == []


def test_a_silence_whose_end_or_matchers_moved_is_replaced() -> None:
    book = SilenceBook("ams")
    book.consume(started(end=t(420)))
    stale = in_am(book.plan([], t(1)).create[0], "s1")
    book.consume(started(end=t(480)))  # the same occurrence, announced with a later end
    plan = book.plan([stale], t(2))
    assert plan.expire == ["s1"] and [b["endsAt"] for b in plan.create] == ["2025-03-29T03:00:00Z"]
    wrong = {**stale, "matchers": [{"name": "service", "value": "voice", "isRegex": True}]}
    assert book.plan([wrong], t(2)).expire == ["s1"]


def test_a_window_without_a_known_end_is_silenced_a_day_at_a_time() -> None:
    book = SilenceBook("ams")
    book.consume(started(end=None))
    body = book.plan([], t(0)).create[0]
    assert body["endsAt"] == "2025-03-29T19:00:00Z"
    assert not book.plan([in_am(body, "s1")], t(60 * 11))  # 13 h left: fine
    renewed = book.plan([in_am(body, "s1")], t(60 * 13))  # 11 h left: renewed
    assert renewed.expire == ["s1"] and renewed.create[0]["endsAt"] == "2025-03-30T08:00:00Z"


def test_the_silence_never_ends_before_the_window_at_alertmanagers_millisecond() -> None:
    book = SilenceBook("ams")
    book.consume(started(end=END + timedelta(microseconds=17)))
    body = book.plan([], t(0)).create[0]
    assert body["endsAt"] == "2025-03-29T02:00:00.001000Z"
    # as Alertmanager lists it back (milliseconds): it fits, nothing to replace
    assert not book.plan([in_am({**body, "endsAt": "2025-03-29T02:00:00.001Z"}, "s1")], t(1))


def test_an_announced_start_and_end_in_one_go_leaves_nothing_behind() -> None:
    book = SilenceBook("ams")
    book.consume(started())  # a window that ran while the daemon was down, told late
    book.consume(ended())
    assert not book.plan([], t(500))
