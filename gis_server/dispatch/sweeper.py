"""The server's overdue sweeper: every `dispatch.overdue_sweep_s` seconds, mark late events.

Started by the app's lifespan, so lateness is recorded (and announced on
`onemap_live`) as time passes, not only when someone opens a queue. A
database that is away is logged and retried at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from starlette.concurrency import run_in_threadpool

from gis_server.database import pooled
from gis_server.settings import Settings
from layers.dispatch import overdue

LOGGER = logging.getLogger(__name__)


def sweep_once(settings: Settings) -> list[str]:
    db = settings.database
    with pooled(db.dsn, db.pool_size) as conn:
        with conn.cursor() as cur:
            codes = overdue.sweep(cur)
        conn.commit()
    return codes


async def _loop(settings: Settings, every_s: float) -> None:
    while True:
        try:
            codes = await run_in_threadpool(sweep_once, settings)
            if codes:
                LOGGER.info("overdue: %d event(s) became late", len(codes))
        except Exception as exc:  # noqa: BLE001 - no failure (database away, driver) ends the loop
            LOGGER.warning("overdue sweep failed (retrying): %s", exc)
        await asyncio.sleep(every_s)


def start(settings: Settings) -> asyncio.Task | None:
    """The sweeper task (None when `dispatch.overdue_sweep_s` is 0)."""
    every_s = settings.dispatch.overdue_sweep_s
    return asyncio.create_task(_loop(settings, every_s)) if every_s > 0 else None


async def stop(task: asyncio.Task | None) -> None:
    if task is not None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
