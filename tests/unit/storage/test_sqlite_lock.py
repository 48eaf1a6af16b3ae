"""One writer per store: a second daemon fails naming the first, having written nothing."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitord.errors import StoreLockedError
from monitord.storage.sqlite import SqliteStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)


async def test_a_second_writer_is_refused_with_the_holders_pid_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitord.db"
    async with SqliteStore(path) as live:
        await live.start_run(T0)
        before = path.read_bytes(), (await live.runs())
        second = SqliteStore(path)
        with pytest.raises(StoreLockedError) as caught:
            await second.open()
        assert f"pid {os.getpid()}" in str(caught.value) and str(path) in str(caught.value)
        await second.close()  # harmless, and must not release the live daemon's lock
        with pytest.raises(StoreLockedError):
            await SqliteStore(path).open()
        assert (path.read_bytes(), await live.runs()) == before
        async with SqliteStore(path, writer=False) as reader:  # reports read alongside
            assert len(await reader.runs()) == 1
    async with SqliteStore(path) as restarted:  # released at close
        assert len(await restarted.runs()) == 1


async def test_the_record_is_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "monitord.db"
    async with SqliteStore(path) as store:
        await store.start_run(T0)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for f in path.parent.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
    path.chmod(0o644)  # an existing file made readable by hand is closed up again
    async with SqliteStore(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
