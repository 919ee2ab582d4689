"""uvicorn HTTP protocols whose small responses leave in one segment, and which close
connections that do not send a request's headers in time.

uvicorn writes a response as headers, then body: with TCP_NODELAY (which every
listening socket onemap serves on has: asyncio sets it on IPPROTO_TCP sockets,
uvloop on all, see `reuseport.py`) that is two segments and two system calls
per small response. Writing through a `CoalescingTransport` sends them as one
(one system call here, one wake-up and one read for the client):
`bench/http_protocol.py` measured 1.2–1.4× the requests/s of stock httptools on small responses.

uvicorn has no header-read timeout: a connection that never sends a byte, or
trickles its headers (slowloris), holds a socket and its memory forever. The
`HeaderDeadline` mixin closes it when the headers are not complete within
`server.header_timeout_s` of the connection opening or of the previous response.
Nor does httptools bound a request's head: a client could stream a header of
gigabytes into memory. Past `server.max_header_bytes` the request is a 431
and the connection closed.
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
HEADER_TIMEOUT_S = 10.0
MAX_HEADER_BYTES = 64 * 1024
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
)


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


class HeaderDeadline:
    """A deadline for a request's headers, on a uvicorn protocol (h11 or httptools).

    Armed when the connection opens and again when a response completes; at the
    deadline the connection is closed unless a request's headers arrived since
    (uvicorn then made a new `cycle`) or a (pipelined) request is being answered.
    """

    cycle: Any
    transport: Any
    loop: asyncio.AbstractEventLoop

    def __init__(
        self,
        *args: Any,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        max_header_bytes: int = MAX_HEADER_BYTES,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self.max_header_bytes = max_header_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._armed_cycle: Any = None
        self._head_bytes = 0

    def _waiting_for_headers(self) -> bool:
        idle = self.cycle is None or self.cycle.response_complete
        return self.cycle is self._armed_cycle and idle

    def data_received(self, data: bytes) -> None:
        """Count what arrives until a request's headers are complete; refuse an endless head."""
        waiting = self._waiting_for_headers()
        super().data_received(data)  # type: ignore[misc]
        if not waiting or not self._waiting_for_headers() or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.max_header_bytes:
            body = (
                b'{"code":"RequestHeaderFieldsTooLarge","description":"request line and '
                b'headers larger than %d bytes"}' % self.max_header_bytes
            )
            self.transport.write(_TOO_LARGE % (len(body), body))
            self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._head_bytes = 0
        self._armed_cycle = self.cycle
        self._deadline = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class CoalescingH11Protocol(HeaderDeadline, H11Protocol):
    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport))


if HttpToolsProtocol is not None:

    class CoalescingHttpToolsProtocol(HeaderDeadline, HttpToolsProtocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(CoalescingTransport(transport))


def protocol() -> type:
    """The fastest available HTTP protocol class, writing through a CoalescingTransport
    and keeping a header deadline (`header_timeout_s`, a keyword argument)."""
    if HttpToolsProtocol is not None:
        return CoalescingHttpToolsProtocol
    return CoalescingH11Protocol
