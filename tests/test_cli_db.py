"""`onemap db …`/`demo`/`serve` against a database that is not there: a message, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ONEMAP = str(Path(sys.executable).parent / "onemap")


@pytest.mark.parametrize(
    "command", [["db", "up"], ["db", "migrate"], ["demo"], ["serve", "--port", "1"]]
)
def test_missing_database_is_reported(server_dsn, command):
    missing = urlunsplit(urlsplit(server_dsn)._replace(path="/onemap_no_such_db"))
    env = dict(os.environ, DATABASE_URL=missing)
    run = subprocess.run([ONEMAP, *command], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "onemap_no_such_db" in run.stderr
    assert "Traceback" not in run.stderr


def test_status_reports_migrations(db_dsn):
    env = dict(os.environ, DATABASE_URL=db_dsn)
    run = subprocess.run(
        [ONEMAP, "db", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "current" in run.stdout


def test_check_reports_schema_drift(db_dsn):
    """`onemap db check`: 0 on a migrated database, 1 naming the column a hand edit added."""
    import psycopg2

    env = dict(os.environ, DATABASE_URL=db_dsn)

    def check() -> subprocess.CompletedProcess[str]:
        argv = [ONEMAP, "db", "check"]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)

    clean = check()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    with psycopg2.connect(db_dsn) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE cameras ADD COLUMN hand_made text")
    try:
        drifted = check()
    finally:
        with psycopg2.connect(db_dsn) as conn, conn.cursor() as cur:
            cur.execute("ALTER TABLE cameras DROP COLUMN hand_made")
    assert drifted.returncode == 1
    assert "hand_made" in drifted.stdout
