#!/usr/bin/env bash
# The demo in one command: set up, start the database, load the Haimen demo
# dataset (once), ensure an MQTT broker, serve on http://127.0.0.1:8000 with the
# live feed, and let the simulator move the fleet. Safe to run again.
#   scripts/demo.sh            RELOAD=1 scripts/demo.sh  reloads the demo data
#   NO_SIMULATE=1 scripts/demo.sh                         a live feed without simulated fixes
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
.venv/bin/onemap demo ${RELOAD:+--reload}
ONEMAP_MQTT_URL="${ONEMAP_MQTT_URL:-$(scripts/broker.sh)}"
export ONEMAP_MQTT_URL ONEMAP_FEED_ENABLED=true
mkdir -p var
if [ -z "${NO_SIMULATE:-}" ]; then
  .venv/bin/onemap feed simulate > var/simulate.log 2>&1 &
  simulator=$!
  trap 'kill "$simulator" 2>/dev/null || true' EXIT
fi
.venv/bin/onemap serve "$@"
