"""A throwaway PostgreSQL cluster on loopback: one per test session, a database per test.

Debian's `postgresql` package (not running as a service: this starts its own).
initdb and the server refuse to run as root, so as root they run as the
`postgres` user in a directory it owns. The cluster trusts local connections
and skips fsync: it is for tests, thrown away at the end of the session, and
only listens on 127.0.0.1 (and a socket in its own directory).

The fixtures are in tests/conftest.py (`pg_cluster`, `pg_url`); fleet tests
can stop and start the cluster (`stop("immediate")` is a kill -9 of the
server) to play a database outage.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.needs import missing, need_file, program_path

__all__ = ["PgCluster", "postgres_bindir"]

_SERVER_SETTINGS = ("-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
                    " -c synchronous_commit=off -c max_connections=200")


# Every schema a test made (a fleet's `fleet` and `loc_*` ones too), then a fresh `public`.
_EMPTY = """DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'
           AND nspname NOT IN ('information_schema', 'public') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
END $$; DROP SCHEMA public CASCADE; CREATE SCHEMA public"""


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl are (Debian keeps them off PATH), or the missing-peer policy."""
    found = program_path("initdb")
    if found is not None:
        return Path(found).resolve().parent
    return need_file("/usr/lib/postgresql/*/bin/initdb", provides="PostgreSQL server (initdb)",
                     package="postgresql").parent


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """initdb + pg_ctl in a temporary directory; `url(db)` for clients, superuser `postgres`."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                missing("the postgres system user (created by Debian's postgresql package)",
                        "./scripts/install-peers.sh")
            self._as = ["runuser", "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="monitord-pg-"))
        if self._as:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        self._spare: list[str] = []
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N",
                  "-E", "UTF8", "--locale=C")

    def _run(self, tool: str, *args: str, check: bool = True,
             owner: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program: as the cluster's owner, or (clients) as ourselves."""
        done = subprocess.run([*(self._as if owner else []), str(self.bindir / tool), *args],
                              capture_output=True,
                              text=True, timeout=60, cwd=self.root, check=False)
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{log}")
        return done

    def start(self) -> None:
        """Start (again) on a free port, or on the same port after a stop."""
        for _ in range(5):
            port = self.port or _free_tcp_port()
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "start",
                             "-o", f"-p {port} -k {self.root} {_SERVER_SETTINGS}", check=False)
            if done.returncode == 0:
                self.port = port
                return
            if self.port:
                break
        raise RuntimeError(f"PostgreSQL did not start: {done.stderr.strip()}\n"
                           f"{self.log.read_text(errors='replace')[-2000:]}")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean stop; `immediate`: the server's kill -9 (recovery at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql as the superuser; its output, unaligned."""
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", database, "-v", "ON_ERROR_STOP=1", "-XAtq", "-c",
                         statement, owner=False).stdout

    def database(self) -> str:
        """An empty database nobody else uses now: a recycled one, or a new one."""
        if self._spare:
            return self._spare.pop()
        name = f"test_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE template0")
        return name

    def recycle(self, name: str) -> None:
        """End every session on `name` (and so its advisory locks), empty it, keep it for the
        next test: much cheaper than CREATE DATABASE, and as empty."""
        try:
            self.sql("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                     f" WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            self.sql(_EMPTY, database=name)
        except RuntimeError:
            with contextlib.suppress(RuntimeError):
                self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        self._spare.append(name)
