#!/usr/bin/env bash
# The whole test suite in one command: set up (incl. test tools), start the
# private PostGIS cluster when DATABASE_URL is unset, run pytest. Safe to run again.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/ogc -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/onemap db up
exec .venv/bin/pytest "$@"
