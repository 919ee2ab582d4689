"""Helpers of bench/ogc_compare.py: onemap vs tipg vs stock pygeoapi vs PostGIS itself.

- `venvs`    pinned tipg and stock pygeoapi, each in its own venv under var/bench/
- `servers`  start/stop the three servers (own process groups, loopback ports)
- `cases`    the ten requests, derived from the database, with their floor SQL
- `measure`  probe + answer checks, wrk, pgbench, the TCP_NODELAY check
- `report`   console table, ratios, PASS/FAIL of the issue's floors, RESULTS.md
"""

from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[2]
