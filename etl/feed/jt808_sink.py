"""What the JT/T 808 listener hands on: `Fix808`s, batched across terminals into one sink call.

The sink is `async def sink(fixes: list[Fix808]) -> None` (or a plain function,
run in a thread): when it returns, the fixes are committed, and only then is
each terminal's report answered with 0x8001 success. Reports arriving while
the sink runs wait for the next call, so a busy sink gets bigger batches, not
more calls. If the sink raises, every report in that call is answered "fail"
and the terminals send it again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

CRS_NAMES = ("wgs84", "gcj02", "bd09")


@dataclass(frozen=True)
class Fix808:
    """One position from a terminal; lon/lat still in `crs`, `t` aware UTC.

    The first seven fields match the feed's `Fix` (vehicle, t, lon, lat, speed
    km/h, heading deg, crs); `vehicle` is None only with `accept_unknown`.
    """

    vehicle: str | None
    t: dt.datetime
    lon: float
    lat: float
    speed: float | None
    heading: float | None
    crs: str
    phone: str
    altitude: int = 0
    alarm: int = 0
    status: int = 0
    extras: dict[int, bytes] = field(default_factory=dict)


Sink = Callable[[list[Fix808]], Awaitable[None] | None]


async def call_maybe_async(fn: Callable, *args):
    """Await `fn(*args)` if it is a coroutine function, else run it in a thread."""
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    ):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    return await result if inspect.isawaitable(result) else result


def _retrieved(fut: asyncio.Future) -> None:
    if not fut.cancelled():
        fut.exception()


class SinkBatcher:
    """Collects fixes from all connections and calls the sink one batch at a time."""

    def __init__(self, sink: Sink, max_fixes: int = 2000, max_wait_s: float = 0.02):
        self.sink = sink
        self.max_fixes = max_fixes
        self.max_wait_s = max_wait_s
        self.calls = 0
        self.failures = 0
        self._pending: list[tuple[list[Fix808], asyncio.Future]] = []
        self._size = 0
        self._has_items = asyncio.Event()
        self._full = asyncio.Event()
        self._worker: asyncio.Task | None = None
        self._closing = False

    @property
    def pending(self) -> int:
        """Fixes waiting for the next sink call."""
        return self._size

    async def submit(self, fixes: list[Fix808]) -> None:
        """Return once the sink has accepted `fixes`; raise what the sink raised."""
        await self.enqueue(fixes)

    def enqueue(self, fixes: list[Fix808]) -> asyncio.Future:
        """A future done when the sink has accepted `fixes` (its exception: what the sink raised)."""
        fut = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_retrieved)  # a closed connection may never await it
        if self._closing:
            fut.set_exception(ConnectionAbortedError("the listener is closing"))
            return fut
        self._pending.append((fixes, fut))
        self._size += len(fixes)
        self._has_items.set()
        if self._size >= self.max_fixes:
            self._full.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run())
        return fut

    async def close(self, timeout_s: float = 30.0) -> None:
        """Hand what is pending to the sink (no linger), then stop; later submits fail."""
        self._closing = True
        self._has_items.set()
        self._full.set()
        if self._worker is not None:
            try:
                await asyncio.wait_for(self._worker, timeout_s)
            except TimeoutError:
                pass
        for _, fut in self._pending:
            if not fut.done():
                fut.set_exception(ConnectionAbortedError("the listener closed"))
        self._pending, self._size = [], 0

    async def _run(self) -> None:
        while True:
            await self._has_items.wait()
            if not self._full.is_set():
                try:
                    async with asyncio.timeout(self.max_wait_s):
                        await self._full.wait()
                except TimeoutError:
                    pass
            batch, self._pending, self._size = self._pending, [], 0
            if not self._closing:
                self._has_items.clear()
                self._full.clear()
            if batch:
                await self._deliver(batch)
            if self._closing and not self._pending:
                return

    async def _deliver(self, batch: list[tuple[list[Fix808], asyncio.Future]]) -> None:
        fixes = [f for part, _ in batch for f in part]
        self.calls += 1
        try:
            await call_maybe_async(self.sink, fixes)
        except Exception as e:  # the sink's failure is each waiting terminal's "fail"
            self.failures += 1
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(e)
            return
        for _, fut in batch:
            if not fut.done():
                fut.set_result(None)
