"""The import_log table: one row per import or job run (who, when, file, checksum, counts)."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg2.extensions import connection, cursor

LOGGER = logging.getLogger(__name__)


def sha256_of(path: Path) -> str | None:
    """Checksum of a file (None for a directory or glob); proves which file was loaded."""
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


@dataclass
class LogEntry:
    who: str
    layer: str
    status: str  # ok | partial | rejected | failed
    file_name: str | None = None
    sha256: str | None = None
    job: str | None = None
    read_count: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    repaired: int = 0
    rejected: int = 0
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


_INSERT = """
INSERT INTO import_log (who, layer, job, file_name, sha256, status, read_count, inserted,
                        updated, unchanged, repaired, rejected, message, details)
VALUES (%(who)s, %(layer)s, %(job)s, %(file_name)s, %(sha256)s, %(status)s, %(read_count)s,
        %(inserted)s, %(updated)s, %(unchanged)s, %(repaired)s, %(rejected)s, %(message)s,
        %(details)s::jsonb)
RETURNING id
"""


def write(cur: cursor, entry: LogEntry) -> int:
    """Insert the entry with `cur` (inside the caller's transaction); returns its id."""
    params = {
        **entry.__dict__,
        "details": json.dumps(entry.details, ensure_ascii=False, default=str),
    }
    cur.execute(_INSERT, params)
    return cur.fetchone()[0]


def write_alone(dsn_or_conn: str | connection, entry: LogEntry) -> int | None:
    """Record a failed or rejected run in its own transaction (the import's was rolled back).

    The import's own outcome is already decided and reported; a log row that cannot be
    written must not hide it, so the failure is logged (not raised) and None returned.
    """
    import psycopg2

    own = isinstance(dsn_or_conn, str)
    conn = None
    try:
        conn = psycopg2.connect(dsn_or_conn) if own else dsn_or_conn
        with conn, conn.cursor() as cur:
            return write(cur, entry)
    except psycopg2.Error as exc:
        what = entry.file_name or entry.layer
        LOGGER.error("import_log: cannot record %s of %s: %s", entry.status, what, exc)
        return None
    finally:
        if own and conn is not None:
            conn.close()
