"""The one policy for a test whose peer program (or file, or capability) is missing.

Why one place: a suite that skips quietly turns green on a machine that tests
nothing. So a missing peer fails under `CI=true` (what `.ci/run` sets), and on a
developer machine it skips with the exact command that installs it. This module
is the only caller of `pytest.skip` in the suite.

Programs are looked up on PATH, in the sbin directories Debian puts daemons in,
and in this interpreter's own `bin/` (the venv, where `./scripts/setup.sh test`
installs PyPI peers such as snmpsim), so a peer the project installs itself is
found without anyone editing PATH.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = ["Source", "missing", "need_file", "need_program", "program_path"]

_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a peer comes from: a Debian package or a PyPI distribution."""

    registry: str  # "debian" or "pypi"
    package: str

    @property
    def install(self) -> str:
        if self.registry == "pypi":
            return f"./scripts/setup.sh test  (or: .venv/bin/pip install {self.package})"
        return (f"./scripts/install-peers.sh  "
                f"(or: sudo apt-get install --no-install-recommends {self.package})")


_DEBIAN = {
    "sipp": "sip-tester",
    "kamailio": "kamailio",
    "baresip": "baresip-core",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "mosquitto": "mosquitto",
    "mosquitto_passwd": "mosquitto",
    "mosquitto_pub": "mosquitto-clients",
    "mosquitto_sub": "mosquitto-clients",
    "snmpd": "snmpd",
    "snmpget": "snmp",
    "snmpwalk": "snmp",
    "dnsmasq": "dnsmasq-base",
    "chromium": "chromium",
    "systemd-analyze": "systemd",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
    "postgres": "postgresql",
    "psql": "postgresql-client",
    "victoria-metrics": "victoria-metrics",
}
_PYPI = {
    "snmpsim-command-responder": "snmpsim",
}


def source_of(program: str) -> Source:
    if program in _PYPI:
        return Source("pypi", _PYPI[program])
    if program in _DEBIAN:
        return Source("debian", _DEBIAN[program])
    raise KeyError(f"tests/needs.py does not know which package provides {program!r}: add it")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing(what: str, install: str) -> NoReturn:
    """Fail under CI=true, otherwise skip; both say exactly how to get `what`."""
    message = f"{what} is missing; install it with: {install}"
    if _in_ci():
        pytest.fail(f"{message}  (CI=true requires every peer)", pytrace=False)
    pytest.skip(message)


def _search_path() -> str:
    venv_bins = [str(Path(sys.executable).parent), str(Path(sys.prefix) / "bin")]
    parts = [*os.environ.get("PATH", "").split(os.pathsep), *_SBIN, *venv_bins]
    return os.pathsep.join(dict.fromkeys(p for p in parts if p))


def program_path(program: str) -> str | None:
    """Absolute path of `program` on PATH, in sbin or in the venv; None if absent."""
    return shutil.which(program, path=_search_path())


def need_program(program: str) -> str:
    """Path of a peer program, or the missing-peer policy with its package named."""
    found = program_path(program)
    if found is None:
        src = source_of(program)
        where = "PyPI" if src.registry == "pypi" else "Debian"
        missing(f"{program} ({where} package {src.package})", src.install)
    return found


def need_file(pattern: str, *, provides: str, package: str) -> Path:
    """First file matching the glob `pattern` (e.g. a plug-in under /usr/lib/<triplet>/)."""
    hits = sorted(glob.glob(pattern))
    if not hits:
        missing(f"{provides} ({pattern}, Debian package {package})", Source("debian", package).install)
    return Path(hits[0])
