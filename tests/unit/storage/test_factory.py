"""`daemon.storage` chooses the backend: a file is SQLite, a postgresql:// URL is PostgreSQL.

The password never sits in the URL: it comes from `storage_password_file` or
from the environment (`storage_password: ${VAR}`), and no message shows it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitord.config.load import parse_config
from monitord.errors import ConfigError, StorageError
from monitord.storage.factory import build_reader, build_store
from monitord.storage.location import PostgresLocation, SqliteLocation, parse_storage
from monitord.storage.postgresql import PostgresStore
from monitord.storage.sqlite import SqliteStore
from tests.postgres import PgCluster


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("var/monitord.db", SqliteLocation(Path("var/monitord.db"))),
        ("/srv/monitord/record.db", SqliteLocation(Path("/srv/monitord/record.db"))),
        ("postgresql://monitord@db.example.net/monitord",
         PostgresLocation("postgresql://monitord@db.example.net/monitord")),
        ("postgres://monitord@10.0.0.5:6432/sla?sslmode=verify-full",
         PostgresLocation("postgres://monitord@10.0.0.5:6432/sla?sslmode=verify-full")),
    ],
)
def test_locations(value: str, expected: object) -> None:
    assert parse_storage(value) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("postgresql://monitord:hunter2@db/monitord", "keep the password out of daemon.storage"),
        ("postgresql://monitord@db", "names no database"),
        ("postgresql:///monitord", "names no host"),
        ("postgresql://monitord@db:99999/monitord", "invalid PostgreSQL URL"),
        ("  ", "is empty"),
    ],
)
def test_bad_locations_say_what_to_write(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        parse_storage(value)
    assert "hunter2" not in str(caught.value)


def test_a_file_is_sqlite_the_embedded_default(tmp_path: Path) -> None:
    cfg = parse_config(f"daemon: {{storage: {tmp_path / 'm.db'}}}\n", env={})
    store = build_store(cfg.daemon, outbox=True)
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "m.db"
    assert isinstance(build_store(parse_config("{}\n", env={}).daemon), SqliteStore)


def test_a_url_with_a_password_file_is_postgresql(tmp_path: Path) -> None:
    secret = tmp_path / "pg.pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    cfg = parse_config(
        "daemon:\n  storage: postgresql://monitord@db.example.net/monitord\n"
        f"  storage_password_file: {secret}\n", env={})
    store = build_store(cfg.daemon, writer=False)
    assert isinstance(store, PostgresStore)
    assert store.where == "postgresql://monitord@db.example.net/monitord"
    assert cfg.daemon.storage_secret() == "s3cret"
    assert "s3cret" not in repr(cfg)


def test_the_password_may_come_from_the_environment() -> None:
    cfg = parse_config(
        "daemon:\n  storage: postgresql://monitord@db/monitord\n"
        "  storage_password: ${MONITORD_PG_PASSWORD}\n", env={"MONITORD_PG_PASSWORD": "from-env"})
    assert cfg.daemon.storage_secret() == "from-env"
    assert "from-env" not in repr(cfg)


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        ("  storage: postgresql://monitord:pw@db/monitord\n", "daemon.storage (line 2)"),
        ("  storage: var/m.db\n  storage_password: ${PW}\n", "for a postgresql:// storage"),
        ("  storage: postgresql://m@db/m\n  storage_password: ${PW}\n"
         "  storage_password_file: /etc/hostname\n", "not both"),
    ],
)
def test_config_errors_name_the_key(yaml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"daemon:\n{yaml}", env={"PW": "pw"})
    assert problem in str(caught.value)
    assert ":pw@" not in str(caught.value)


async def test_the_built_store_opens_on_a_real_server(pg_url: str) -> None:
    cfg = parse_config(f"daemon: {{storage: '{pg_url}'}}\n", env={})
    async with build_store(cfg.daemon) as store:
        assert await store.runs() == []


async def test_a_refused_login_is_a_storage_error_naming_the_server_not_the_password(
    pg_cluster: PgCluster,
) -> None:
    url = pg_cluster.url("postgres").replace("postgres@", "nobody@")  # no such role
    with pytest.raises(StorageError, match=re.escape(f"{url}: ")) as caught:
        await PostgresStore(url, password="wrong-pw", connect_timeout=5).open()
    assert "wrong-pw" not in str(caught.value)


async def test_a_reader_never_creates_an_empty_record(tmp_path: Path, pg_url: str) -> None:
    missing = parse_config(f"daemon: {{storage: {tmp_path / 'none.db'}}}\n", env={})
    with pytest.raises(StorageError, match="no monitord database here"):
        build_reader(missing.daemon)
    assert not (tmp_path / "none.db").exists()
    on_pg = parse_config(f"daemon: {{storage: '{pg_url}'}}\n", env={}).daemon
    async with build_store(on_pg), build_reader(on_pg) as reader:  # beside the writer
        assert await reader.gaps() == []
