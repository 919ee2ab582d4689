"""uvicorn HTTP protocols that set TCP_NODELAY on every accepted connection.

With `--workers N` uvicorn binds the listening socket itself as
`socket(AF_INET, SOCK_STREAM)` (proto 0) and hands it to the workers; asyncio
only sets TCP_NODELAY on sockets whose proto is IPPROTO_TCP, so accepted
connections keep Nagle's algorithm. A response written as headers + body then
waits for the client's delayed ACK: ~40 ms on every small keep-alive request.
Setting the option per connection fixes it whatever the loop or socket origin.

The same protocols write through a `CoalescingTransport`, so a small response's
headers and body leave in one segment (one system call here, one wake-up and
one read for the client) instead of two.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: h11 only
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def set_nodelay(transport: Any) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


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


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(CoalescingTransport(transport))


if HttpToolsProtocol is not None:

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            set_nodelay(transport)
            super().connection_made(CoalescingTransport(transport))


def protocol() -> type:
    """The fastest available HTTP protocol class, with TCP_NODELAY."""
    if HttpToolsProtocol is not None:
        return NoDelayHttpToolsProtocol
    return NoDelayH11Protocol
