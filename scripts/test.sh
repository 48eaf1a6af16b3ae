#!/usr/bin/env bash
# Installs everything (Debian peers, Python deps) and runs the whole suite:
# lint, types, unit and integration tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-peers.sh
./scripts/setup.sh test
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
# pytest exits 5 when it collected nothing: that is a failure here too.
.venv/bin/python -m pytest "$@"
