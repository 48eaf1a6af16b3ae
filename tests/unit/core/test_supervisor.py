"""The supervisor: a task that dies is logged, counted, shown as a problem and restarted."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from monitord.core import supervisor as sup
from monitord.core.supervisor import Health, Supervisor


class Counted:
    def __init__(self) -> None:
        self.restarted: list[str] = []

    def task_restarted(self, name: str) -> None:
        self.restarted.append(name)


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sup, "BACKOFF_INITIAL", 0.01)
    monkeypatch.setattr(sup, "HEALTHY_AFTER", 0.05)


async def test_a_crashing_task_is_a_named_problem_until_it_runs_again() -> None:
    health, seen = Health(), Counted()
    s = Supervisor(health, seen)
    runs = 0
    crashed = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            crashed.set()
            raise RuntimeError("broker said no")
        await asyncio.sleep(3600)

    with capture_logs() as logs:
        s.start("mqtt-publisher", flaky)
        await asyncio.wait_for(crashed.wait(), 1)
        await asyncio.sleep(0)
        assert "task mqtt-publisher" in health.problems
        assert "broker said no" in (health.summary() or "")
        for _ in range(100):  # two crashes, backoff, then 0.05 s of good running
            await asyncio.sleep(0.01)
            if runs == 3 and not health.problems:
                break
    assert runs == 3 and health.problems == {}
    assert seen.restarted == ["mqtt-publisher", "mqtt-publisher"] and s.restarts["mqtt-publisher"] == 2
    crashes = [e for e in logs if e["event"] == "task_crashed"]
    assert len(crashes) == 2 and crashes[0]["task"] == "mqtt-publisher"
    assert crashes[0]["exc_info"].args == ("broker said no",)  # logged with its traceback
    await s.stop_all()
    assert s.running() == []


async def test_a_task_that_returns_is_done_and_stop_cancels_the_rest() -> None:
    s = Supervisor(Health())
    done = asyncio.Event()

    async def once() -> None:
        done.set()

    async def forever() -> None:
        await asyncio.sleep(3600)

    s.start("once", once)
    s.start("forever", forever)
    await done.wait()
    await asyncio.sleep(0)
    assert s.running() == ["forever"]
    with pytest.raises(ValueError, match="already supervised"):
        s.start("forever", forever)
    await s.stop_all()
    assert s.running() == []
