#!/usr/bin/env bash
# Sets up .venv, starts a SIP responder on 127.0.0.1:25060 and runs the daemon
# on config/demo.yaml (SQLite in var/demo.db). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/monitord check-config --config config/demo.yaml
.venv/bin/monitord responder --listen 127.0.0.1:25060 --log-format console &
responder=$!
trap 'kill $responder 2>/dev/null; wait $responder 2>/dev/null' EXIT
cat <<MSG
monitord demo: API on http://127.0.0.1:9465 — try, in another terminal:
  curl -s 127.0.0.1:9465/api/v1/checks      # demo-dead-sbc goes failing -> alerting -> down in ~25 s
  curl -s 127.0.0.1:9465/api/v1/downtimes   # its downtime interval, start = first failed probe
  curl -s 127.0.0.1:9465/metrics | grep ^monitord_
MSG
.venv/bin/monitord run --config config/demo.yaml --log-format console
