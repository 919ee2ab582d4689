"""`GET /api/live`: one server-sent-events stream of what changes, for every console.

One `LISTEN onemap_live` per app process (psycopg 3 async, autocommit; on
failure it reconnects with back-off and tells clients `resync`, so they
re-read what they show), fanned out to every client. Each payload's `kind`
becomes the SSE event name: `vehicles` from the feeds (etl/feed/notify.py),
whatever dispatch sends for its events, `workers` (grid workers on duty, layers/duty.py —
staff whereabouts, so only to clients signed in as dispatcher or higher when they
connected: `PRIVATE_KINDS`). Other kinds follow their layer's read policy
(`KIND_LAYERS`, decided by `collection_policy` when the client connects): a kind
whose layer the client may not read is not sent to it. A district-scoped account
(`Principal.district_code`) gets each of vehicles, geofence, event(s) and workers
narrowed to its district (`live/scope.py`), also decided when it connects. Each client
has a bounded queue: a
client too slow to keep up is dropped (its EventSource reconnects and
resyncs) rather than holding memory or slowing the others. A comment line
every `HEARTBEAT_S` keeps proxies and dead-peer detection honest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import psycopg
from starlette.requests import Request
from starlette.responses import StreamingResponse

from etl.feed.notify import CHANNEL
from gis_server.auth import Role
from gis_server.auth.collection_policy import authorise, policy_of
from gis_server.errors import DatabaseUnavailable
from gis_server.live.scope import SCOPED_KINDS, DistrictScope
from gis_server.routing import Body, RouteDoc, api_route

LOGGER = logging.getLogger(__name__)
HEARTBEAT_S = 15.0
QUEUE_FRAMES = 256
MAX_CLIENTS = 2000
PRIVATE_KINDS = frozenset({"workers"})  # only to clients signed in as dispatcher or higher
# the layer each kind shows (geofence alerts are about vehicles; dispatch sends `event`)
KIND_LAYERS = {
    "vehicles": "vehicles",
    "geofence": "vehicles",
    "event": "events",
    "events": "events",
}


def frame(event: str, data: str) -> bytes:
    """One SSE event (data is one JSON line, so no line splitting is needed)."""
    return f"event: {event}\ndata: {data}\n\n".encode()


def kind_of(payload: str) -> str:
    try:
        kind = str(json.loads(payload).get("kind", "message"))
    except (ValueError, AttributeError):
        kind = "message"
    return kind if kind.isidentifier() else "message"


def frame_of(payload: str) -> bytes:
    return frame(kind_of(payload), payload)


class LiveHub:
    """The process's one LISTEN connection and its subscribers' queues."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        # each client's queue → the kinds it is not sent
        self.clients: dict[asyncio.Queue[bytes | None], frozenset[str]] = {}
        # a district-scoped client's queue → its district (absent: the whole city)
        self.districts: dict[asyncio.Queue[bytes | None], str] = {}
        self.scope = DistrictScope(dsn)
        self.listening = asyncio.Event()
        self.dropped = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for q in list(self.clients):
            self._close(q)
        await self.scope.close()

    def subscribe(
        self, hidden: frozenset[str] = PRIVATE_KINDS, district: str | None = None
    ) -> asyncio.Queue[bytes | None]:
        """A new client's queue; frames of the `hidden` kinds are never put in it, and with
        a `district` only that district's part of each payload."""
        if len(self.clients) >= MAX_CLIENTS:
            raise DatabaseUnavailable("实时流连接已满 — too many live stream clients")
        q: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_FRAMES)
        self.clients[q] = hidden
        if district is not None:
            self.districts[q] = district
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        self.clients.pop(q, None)
        self.districts.pop(q, None)

    def _close(self, q: asyncio.Queue) -> None:
        self.unsubscribe(q)
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                q.get_nowait()
        q.put_nowait(None)  # the client's stream ends

    def publish(
        self, data: bytes, kind: str | None = None, scoped: dict[str, bytes | None] | None = None
    ) -> None:
        """`data` to every client not hiding `kind`; with `scoped`, a district-scoped client
        gets its district's frame instead (None: nothing)."""
        for q, hidden in list(self.clients.items()):
            if kind in hidden:
                continue
            frame_for = data
            if scoped is not None and (district := self.districts.get(q)) is not None:
                frame_for = scoped.get(district)
                if frame_for is None:
                    continue
            try:
                q.put_nowait(frame_for)
            except asyncio.QueueFull:
                self.dropped += 1
                self._close(q)

    async def fan_out(self, payload: str) -> None:
        """One NOTIFY payload to every client, narrowed per district for scoped ones."""
        kind = kind_of(payload)
        scoped: dict[str, bytes | None] | None = None
        districts = set(self.districts.values())
        if districts and kind in SCOPED_KINDS:
            scoped = {}
            try:
                body = json.loads(payload)
                await self.scope.refresh(body)
                for district in districts:
                    narrowed = self.scope.narrow(body, district)
                    scoped[district] = None if narrowed is None else frame(kind, narrowed)
            except (ValueError, TypeError, AttributeError) as exc:  # not ours: not for them
                LOGGER.warning("live: a %s payload not narrowed (%s)", kind, exc)
                scoped = dict.fromkeys(districts)
        self.publish(frame(kind, payload), kind, scoped)

    async def _listen_forever(self) -> None:
        delay = 0.2
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, application_name="onemap-live"
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    delay = 0.2
                    async for note in conn.notifies():
                        await self.fan_out(note.payload)
            except psycopg.Error as exc:
                LOGGER.warning("live: LISTEN connection failed (%s); reconnecting", exc)
            if self.listening.is_set():
                self.listening.clear()
                self.publish(frame("resync", "{}"))
            await asyncio.sleep(delay)  # back-off between reconnects, not a wait in a test
            delay = min(delay * 2, 5.0)


async def _events(hub: LiveHub, q: asyncio.Queue, hello: bytes) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 3000\n\n" + hello
        while True:
            try:
                data = await asyncio.wait_for(q.get(), HEARTBEAT_S)
            except TimeoutError:
                yield b": ping\n\n"
                continue
            if data is None:
                return
            yield data
    finally:
        hub.unsubscribe(q)


async def live(request: Request) -> StreamingResponse:
    hub: LiveHub = request.app.state.live
    settings = request.app.state.settings
    principal = await authorise(request, None)
    private = principal is not None and principal.can(Role.DISPATCHER)
    readable = policy_of(request).readable(principal, set(KIND_LAYERS.values()))
    hidden = {kind for kind, layer in KIND_LAYERS.items() if layer not in readable}
    district = principal.district_code if principal is not None else None
    q = hub.subscribe(frozenset(hidden if private else hidden | PRIVATE_KINDS), district)
    hello = frame(
        "hello",
        json.dumps(
            {
                "offline_after_s": settings.feed.offline_after_s,
                "workers": private,
                "workers_offline_after_s": settings.dispatch.duty.offline_after_s,
                "district_code": district,
            }
        ),
    )
    return StreamingResponse(
        _events(hub, q, hello),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def live_routes() -> list:
    return [
        api_route(
            "/api/live",
            live,
            doc=RouteDoc(
                summary="Server-sent events: vehicles moving, dispatch's event changes, resync",
                tags=("live",),
                responses={
                    200: Body(
                        "an endless text/event-stream; events `hello` (with the "
                        "connection's `district_code`: a district-scoped account gets only "
                        "its district's vehicles, geofence alerts, events and workers), "
                        "`vehicles` "
                        '({"fixes": [[code, lon, lat, speed, heading, epoch_s], …]}), '
                        "dispatch's kinds, `geofence`, `workers` (grid workers on duty: "
                        '{"workers": [[username, name, lon, lat, accuracy_m, epoch_s]]}, '
                        '{"on": [username, name]}, {"off": [username]}; only to a client '
                        "signed in as dispatcher or higher), `resync`; `: ping` comments as "
                        "heartbeats",
                        None,
                        ("text/event-stream",),
                    )
                },
            ),
        )
    ]
