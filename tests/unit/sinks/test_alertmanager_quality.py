"""MonitordCallQuality: the XTIUM priority as an Alertmanager alert, checked after
every change (P1 -> critical), in maintenance held back like the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitord.config.alerting import AlertmanagerConfig
from monitord.core.callquality import Priority, QualityChange, WindowFigures
from monitord.sinks.alerts import QUALITY_ALERT, AlertBook
from tests.unit.sinks.subjects import subjects
from tests.unit.stream import maintenance_started

T0 = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def change(minutes: float, before: Priority, after: Priority) -> QualityChange:
    return QualityChange("voice", T0 + timedelta(minutes=minutes), before, after,
                         WindowFigures(20, 3, 0))


def sent(book: AlertBook, now: datetime) -> list[dict[str, Any]]:
    batch = book.batch(0, now)
    book.delivered(0, batch)
    return book.payloads(batch, now)


def test_priority_changes_fire_and_resolve_one_alert_per_priority() -> None:
    book = AlertBook(AlertmanagerConfig(urls=["http://127.0.0.1:1"]), subjects(""))
    now = T0 + timedelta(hours=1)
    steps = [  # change -> (labels of what is sent: (priority, severity, firing))
        (change(0, Priority.NONE, Priority.P2), [("P2", "warning", True)]),
        (change(5, Priority.P2, Priority.P1), [("P2", "warning", False), ("P1", "critical", True)]),
        (change(9, Priority.P1, Priority.P3), [("P1", "critical", False), ("P3", "info", True)]),
        (change(12, Priority.P3, Priority.NONE), [("P3", "info", False)]),
    ]
    for ch, expected in steps:
        assert book.quality(ch)
        out = sent(book, now)
        got = [(a["labels"]["priority"], a["labels"]["severity"],
                a["endsAt"] > now.isoformat().replace("+00:00", "Z")) for a in out]
        assert got == expected, ch
        for a in out:
            assert a["labels"]["alertname"] == QUALITY_ALERT
            assert a["labels"]["service"] == "voice" and a["labels"]["site"] == "ams"
    assert book.active == {}
    p1 = change(5, Priority.P2, Priority.P1)
    book.quality(p1)
    (alert,) = book.active.values()
    assert alert.starts_at == p1.at and "3/20 calls" in alert.annotations["detail"]


def test_in_maintenance_the_quality_alert_is_held_back() -> None:
    book = AlertBook(AlertmanagerConfig(urls=["http://127.0.0.1:1"]), subjects(""))
    book.maintenance_changed(maintenance_started("voice", T0))
    book.quality(change(0, Priority.NONE, Priority.P1))
    assert sent(book, T0) == []
    book.quality(change(1, Priority.P1, Priority.NONE))
    assert [a["labels"]["priority"] for a in sent(book, T0)] == ["P1"]  # resolutions go out
