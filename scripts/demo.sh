#!/usr/bin/env bash
# The demo in one command: set up, start the database, load the Haimen demo
# dataset (once), serve on http://127.0.0.1:8000. Safe to run again.
#   scripts/demo.sh            RELOAD=1 scripts/demo.sh  reloads the demo data
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
.venv/bin/onemap demo ${RELOAD:+--reload}
exec .venv/bin/onemap serve "$@"
