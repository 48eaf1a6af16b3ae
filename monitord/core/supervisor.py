"""One owner for every background task: restarts, backoff, health.

Why: a background task that dies unobserved (the MQTT publisher, an
Alertmanager delivery loop) used to leave the daemon looking healthy while
nothing was delivered. Here a task that raises is logged with its traceback,
counted, reported by /healthz as failing (503, naming it) and restarted with
exponential backoff; once it has run for `HEALTHY_AFTER` seconds again it is
healthy again. A task that returns normally is done and not restarted.

`Health` also carries problems other parts report (the record falling behind,
the scheduler overloaded): /healthz answers 503 while any is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

__all__ = ["HEALTHY_AFTER", "Health", "Supervisor", "TaskSpec"]

log = structlog.get_logger("monitord.supervisor")

HEALTHY_AFTER = 2.0  # seconds a restarted task must run before it counts as recovered
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0

TaskSpec = tuple[str, Callable[[], Coroutine[Any, Any, None]]]


class RestartObserver(Protocol):
    def task_restarted(self, name: str) -> None: ...


@dataclass
class Health:
    """Named problems; empty means healthy."""

    problems: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)

    def set(self, name: str, problem: str | None) -> None:
        if problem is None:
            self.problems.pop(name, None)
        else:
            self.problems[name] = problem

    def warn(self, name: str, warning: str | None) -> None:
        if warning is None:
            self.warnings.pop(name, None)
        else:
            self.warnings[name] = warning

    def summary(self) -> str | None:
        if not self.problems:
            return None
        return "; ".join(f"{name}: {why}" for name, why in sorted(self.problems.items()))


class Supervisor:
    def __init__(self, health: Health, observer: RestartObserver | None = None) -> None:
        self._health = health
        self._observer = observer
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.restarts: dict[str, int] = {}

    def start(self, name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} is already supervised")
        self.restarts.setdefault(name, 0)
        self._tasks[name] = asyncio.create_task(self._keep(name, factory), name=name)

    def running(self) -> list[str]:
        return [n for n, t in self._tasks.items() if not t.done()]

    async def stop(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._health.set(f"task {name}", None)

    async def stop_all(self) -> None:
        for name in list(self._tasks):
            await self.stop(name)

    async def _keep(self, name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        loop = asyncio.get_running_loop()
        delay = BACKOFF_INITIAL
        key = f"task {name}"
        while True:
            started = loop.time()
            recover = loop.call_later(HEALTHY_AFTER, self._health.set, key, None)
            try:
                await factory()
            except asyncio.CancelledError:
                recover.cancel()
                raise
            except Exception as exc:
                recover.cancel()
                self.restarts[name] = self.restarts.get(name, 0) + 1
                if self._observer is not None:
                    self._observer.task_restarted(name)
                if loop.time() - started >= HEALTHY_AFTER:
                    delay = BACKOFF_INITIAL  # it had recovered: start the backoff afresh
                self._health.set(key, f"crashed ({type(exc).__name__}: {exc}); restarting")
                log.error("task_crashed", task=name, restart_in=round(delay, 3),
                          restarts=self.restarts[name], exc_info=exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            recover.cancel()
            self._health.set(key, None)
            log.info("task_finished", task=name)
            return
