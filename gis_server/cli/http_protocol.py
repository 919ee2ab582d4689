"""uvicorn HTTP protocols whose small responses leave in one segment.

uvicorn writes a response as headers, then body: with TCP_NODELAY (which every
listening socket onemap serves on has: asyncio sets it on IPPROTO_TCP sockets,
uvloop on all, see `reuseport.py`) that is two segments and two system calls
per small response. Writing through a `CoalescingTransport` sends them as one
(one system call here, one wake-up and one read for the client):
`bench/http_protocol.py` measured 1.2–1.4× the requests/s of stock httptools on small responses.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: h11 only
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


COALESCE_MAX_BYTES = 64 * 1024


class CoalescingTransport:
    """A transport whose small writes of one event-loop turn go out as one send.

    uvicorn writes a response as headers, then body: with TCP_NODELAY that is two
    segments and two system calls per small response. Writes are gathered and
    flushed at the end of the loop turn (or at once past COALESCE_MAX_BYTES, so
    big bodies still meet the real transport's flow control); close flushes first.
    """

    def __init__(self, transport: Any):
        self._transport = transport
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= COALESCE_MAX_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            pending, self._pending, self._size = self._pending, [], 0
            self._transport.writelines(pending)

    def writelines(self, data: Any) -> None:
        for chunk in data:
            self.write(chunk)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingH11Protocol(H11Protocol):
    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport))


if HttpToolsProtocol is not None:

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(CoalescingTransport(transport))


def protocol() -> type:
    """The fastest available HTTP protocol class, writing through a CoalescingTransport."""
    if HttpToolsProtocol is not None:
        return CoalescingHttpToolsProtocol
    return CoalescingH11Protocol
