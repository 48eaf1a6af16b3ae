#!/usr/bin/env bash
# Creates .venv and installs monitord into it (with test tools when given "test").
# Quiet, and a no-op when nothing changed: the install is editable, so only
# pyproject.toml, the Python version or the extras can make a reinstall necessary.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extra=""
[ "${1:-}" = "test" ] && extra="[test]"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv || { echo "setup: '$PY -m venv' failed; on Debian: apt-get install python3-venv" >&2; exit 1; }
fi
stamp=.venv/.monitord-setup
want="$(.venv/bin/python -c 'import sys; print(sys.version.split()[0])') $(sha256sum pyproject.toml | cut -d' ' -f1)"
have=$(cat "$stamp" 2>/dev/null || true)
# a test install also satisfies a plain one
if [ "$have" = "$want test" ] || { [ -z "$extra" ] && [ "$have" = "$want" ]; }; then
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".${extra}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: installing monitord${extra} into .venv failed (output above)" >&2
  exit 1
fi
echo "$want${extra:+ test}" > "$stamp"
