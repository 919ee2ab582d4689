"""`onemap feed jt808` and the feed process's JT/T 808 half: the listener on PostGIS,
its counters written every 5 s to a status file (for `onemap feed status`)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from etl.feed.ingest import FeedRules
from etl.feed.jt808_db import Jt808Database
from etl.feed.jt808_server import Jt808Server
from etl.feed.jt808_session import Jt808Settings

log = logging.getLogger(__name__)


async def start_on_database(
    dsn: str, host: str, port: int, settings: Jt808Settings, rules: FeedRules | None = None
) -> tuple[Jt808Server, Jt808Database]:
    """A started listener whose sink and lookup are the database (raises if it is away)."""
    db = Jt808Database(dsn, rules)
    registered = await asyncio.to_thread(db.registrations)
    server = Jt808Server(db.sink, db.lookup, settings, registered=registered)
    await server.start(host, port)
    return server, db


def write_status(path: Path, server: Jt808Server, db: Jt808Database) -> None:
    status = {"at": time.time(), **server.status(), "stored": db.stored}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(path)


async def serve_on_database(
    dsn: str,
    host: str,
    port: int,
    settings: Jt808Settings,
    rules: FeedRules | None = None,
    status_file: Path | None = None,
) -> None:
    """Serve terminals until cancelled; waits for the database at start."""
    delay = 0.5
    while True:
        try:
            server, db = await start_on_database(dsn, host, port, settings, rules)
            break
        except Exception as e:  # noqa: BLE001 - the database may still be starting
            log.warning("jt808: cannot start (%s), retrying", e)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    log.info("JT/T 808 listener on %s:%d (crs %s)", host, server.port, settings.crs)
    try:
        while True:
            if status_file is not None:
                write_status(status_file, server, db)
            await asyncio.sleep(5.0)
    finally:
        await server.close()
        await asyncio.to_thread(db.close)


def run_forever(dsn, host, port, settings, rules=None, status_file=None) -> None:
    """The listener in this thread's own event loop until interrupted."""
    try:
        asyncio.run(serve_on_database(dsn, host, port, settings, rules, status_file))
    except KeyboardInterrupt:
        pass
