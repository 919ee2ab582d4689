"""A short-lived in-process cache of API-key principals, dropped on any auth change.

Intake systems send hundreds of requests a second with one key; looking the key up
each time cost a thread hop, a pooled connection and two or three round trips. A
principal found by `store.principal_for_key` is kept for `server.api_key_cache_s`
seconds (keyed by the key's SHA-256, never the key itself). Revoking a key,
disabling a user or changing a role fires `pg_notify('onemap_auth')` from a
trigger (migration 0013) whatever path made the change, and this process's
listener clears the whole cache at once. While that listener is not connected
nothing is cached (a lost connection could hide a revocation); the TTL bounds
what a key's expiry or a missed notice can leave behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time

import psycopg

from gis_server.auth.principal import Principal

LOGGER = logging.getLogger(__name__)
CHANNEL = "onemap_auth"
MAX_ENTRIES = 10_000


class KeyCache:
    """Principals by key digest for `ttl_s` seconds, valid only while the listener runs."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.hits = 0
        self.misses = 0
        self.cleared = 0
        self.listening = threading.Event()
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._task: asyncio.Task | None = None

    @staticmethod
    def digest(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    @property
    def active(self) -> bool:
        return self.ttl_s > 0 and self.listening.is_set()

    def generation(self) -> int:
        """Taken before a lookup: `put` refuses a result that a clear overtook."""
        return self._generation

    def get(self, key: str) -> Principal | None:
        if not self.active:
            return None
        entry = self._entries.get(self.digest(key))
        if entry is None or entry[0] < time.monotonic():
            self.misses += 1
            return None
        self.hits += 1
        return entry[1]

    def put(self, key: str, principal: Principal, generation: int) -> None:
        with self._lock:
            if not self.active or generation != self._generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[self.digest(key)] = (time.monotonic() + self.ttl_s, principal)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self.cleared += 1

    def start(self, dsn: str) -> None:
        if self.ttl_s > 0:
            self._task = asyncio.get_running_loop().create_task(self._listen_forever(dsn))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.listening.clear()
        self.clear()

    async def _listen_forever(self, dsn: str) -> None:
        delay = 0.2
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    dsn, autocommit=True, application_name="onemap-auth"
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.clear()  # whatever changed while nobody listened
                    self.listening.set()
                    delay = 0.2
                    async for _note in conn.notifies():
                        self.clear()
            except psycopg.Error as exc:
                LOGGER.warning("auth: LISTEN %s failed (%s); keys uncached", CHANNEL, exc)
            finally:
                self.listening.clear()
                self.clear()
            await asyncio.sleep(delay)  # back-off between reconnects
            delay = min(delay * 2, 5.0)
