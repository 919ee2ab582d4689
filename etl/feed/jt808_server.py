"""The JT/T 808 TCP listener: one asyncio task per terminal connection.

Bytes are cut into frames by `FrameSplitter` (partial frames wait for the
next read, several frames in one read are answered in order, garbage before
a 0x7e is dropped, frames above `max_frame_bytes` are skipped), each frame
goes to its connection's `Session`, and the answers are written back. A bad
frame never closes a connection (and never another terminal's); a
connection closes when the terminal does, after `idle_timeout_s` without a
valid frame, or when its answers have not been read for `idle_timeout_s`.
All frames of one read are handled before the reports among them wait for
the sink together (a burst shares sink calls); answers go back in order. Fixes of all connections reach the sink in batches.

    await run_listener("0.0.0.0", 808, sink, lookup, Jt808Settings(crs="gcj02"))
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping

from etl.feed.jt808_frame import FrameSplitter
from etl.feed.jt808_session import (
    Deferred,
    Jt808Settings,
    Lookup,
    Registered,
    Reply,
    Session,
    Shared,
    Stats,
)
from etl.feed.jt808_sink import Sink, SinkBatcher

log = logging.getLogger(__name__)
READ_SIZE = 65536


class Jt808Server:
    """Connections, sessions and counters of one listener."""

    def __init__(
        self,
        sink: Sink,
        lookup: Lookup,
        settings: Jt808Settings | None = None,
        registered: MutableMapping[str, Registered] | None = None,
    ):
        self.settings = settings or Jt808Settings()
        self.stats = Stats()
        self.batcher = SinkBatcher(
            sink, self.settings.batch_max_fixes, self.settings.batch_max_wait_s
        )
        # auth codes and plates of registrations; a persistent mapping survives restarts
        known = {} if registered is None else registered
        self.shared = Shared(self.settings, self.batcher, lookup, known, self.stats)
        self.server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._sessions: set[Session] = set()

    async def start(self, host: str, port: int, **kwargs) -> asyncio.Server:
        """Listen on host:port (port 0: a free one, see `port`)."""
        self.server = await asyncio.start_server(
            self.handle, host, port, limit=READ_SIZE, backlog=4096, **kwargs
        )
        return self.server

    @property
    def port(self) -> int:
        assert self.server is not None, "not started"
        return self.server.sockets[0].getsockname()[1]

    def status(self) -> dict:
        """Counters for `onemap feed status`: connections, terminals, frames, drops, the sink."""
        st = self.stats
        return {
            "connections": st.connections,
            "authenticated": sum(1 for s in self._sessions if s.authenticated),
            "connections_total": st.connections_total,
            "refused_connections": st.refused_connections,
            "idle_closed": st.idle_closed,
            "frames": st.frames,
            "fixes": st.fixes,
            "bad_frames": dict(st.bad),
            "dropped": dict(st.dropped),
            "sink_calls": self.batcher.calls,
            "sink_failures": self.batcher.failures,
            "pending_fixes": self.batcher.pending,
        }

    async def close(self) -> None:
        """Stop accepting, hand pending fixes to the sink, then close every connection."""
        if self.server is not None:
            self.server.close()
        await self.batcher.close()
        for writer in list(self._writers):  # (Server.close_clients is 3.13+)
            writer.close()
        if self.server is not None:
            await self.server.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats = self.stats
        if stats.connections >= self.settings.max_connections:
            stats.refused_connections += 1
            writer.close()
            return
        stats.connections += 1
        stats.connections_total += 1
        self._writers.add(writer)
        try:
            await self._converse(reader, writer)
        except (ConnectionError, OSError):
            pass
        except Exception:  # a bug here must cost this connection only
            log.exception("JT/T 808 connection failed")
        finally:
            stats.connections -= 1
            self._writers.discard(writer)
            writer.close()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        session = Session(self.shared)
        self._sessions.add(session)
        try:
            await self._serve_session(loop, session, reader, writer)
        finally:
            self._sessions.discard(session)

    async def _serve_session(self, loop, session, reader, writer) -> None:
        splitter = FrameSplitter(self.settings.max_frame_bytes)
        deadline = loop.time() + self.settings.idle_timeout_s
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                self.stats.idle_closed += 1
                return
            if not data:
                return
            answers: list[Reply] = []
            for frame in splitter.feed(data):
                replies, valid = await session.on_frame(frame)
                if valid:
                    deadline = loop.time() + self.settings.idle_timeout_s
                answers += replies
            oversized, splitter.oversized = splitter.oversized, 0
            if oversized:
                self.stats.count(self.stats.bad, "oversized", oversized)
            if not await self._answer(writer, answers):
                self.stats.idle_closed += 1
                return

    async def _answer(self, writer: asyncio.StreamWriter, answers: list[Reply]) -> bool:
        """Write the answers in order, each report's once the sink has taken it.

        False if the terminal has not read them within the idle timeout (its
        buffers full): the connection is given up rather than held forever."""
        ready = bytearray()
        for answer in answers:
            if isinstance(answer, Deferred):
                if ready:
                    writer.write(bytes(ready))
                    ready.clear()
                answer = await answer.resolve()
            ready += answer
        if ready:
            writer.write(bytes(ready))
        try:
            async with asyncio.timeout(self.settings.idle_timeout_s):
                await writer.drain()
        except TimeoutError:
            return False
        return True


async def start_listener(
    host: str, port: int, sink: Sink, lookup: Lookup, settings: Jt808Settings | None = None
) -> Jt808Server:
    """A started listener (for tests, benches and a CLI that runs other things too)."""
    server = Jt808Server(sink, lookup, settings)
    await server.start(host, port)
    return server


async def run_listener(
    host: str, port: int, sink: Sink, lookup: Lookup, settings: Jt808Settings | None = None
) -> None:
    """Serve JT/T 808 terminals on host:port until cancelled."""
    server = await start_listener(host, port, sink, lookup, settings)
    log.info("JT/T 808 listener on %s:%d", host, server.port)
    try:
        await server.server.serve_forever()
    finally:
        await server.close()
