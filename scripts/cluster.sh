#!/usr/bin/env bash
# The prefecture layout on this machine, by one command (see docs/scale.md):
#   scripts/cluster.sh up       primary + streaming replica (var/cluster/), 2 onemap serve
#                               processes, HAProxy in front on :8100 (installed if missing)
#   scripts/cluster.sh status   each part's state (exit 1 unless all are up)
#   scripts/cluster.sh down     stop all (data kept; `down --purge` deletes it)
#   scripts/cluster.sh failover the drill: stop the primary, promote the replica, wait until
#                               the apps answer through HAProxy again (they are told nothing)
# Idempotent: a second `up` starts nothing and reports. Ports and directory:
# ONEMAP_CLUSTER_PG_PORT (55441, replica +1), ONEMAP_CLUSTER_HTTP_PORT (8100, apps +1 +2,
# stats +99), ONEMAP_CLUSTER_DIR, ONEMAP_CLUSTER_SCALE (demo scale of a new primary, 0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  up|down|status|failover) ;;
  *) echo "usage: $0 up|down [--purge]|status|failover" >&2; exit 2 ;;
esac
py=.venv/bin/python
[ -x "$py" ] || py=python3
exec env PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$py" -m gis_server.cli.cluster_stack "$@"
