"""uvicorn HTTP protocols that set TCP_NODELAY on every accepted connection.

With `--workers N` uvicorn binds the listening socket itself as
`socket(AF_INET, SOCK_STREAM)` (proto 0) and hands it to the workers; asyncio
only sets TCP_NODELAY on sockets whose proto is IPPROTO_TCP, so accepted
connections keep Nagle's algorithm. A response written as headers + body then
waits for the client's delayed ACK: ~40 ms on every small keep-alive request.
Setting the option per connection fixes it whatever the loop or socket origin.
"""

from __future__ import annotations

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


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)


if HttpToolsProtocol is not None:

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            set_nodelay(transport)
            super().connection_made(transport)


def protocol() -> type:
    """The fastest available HTTP protocol class, with TCP_NODELAY."""
    if HttpToolsProtocol is not None:
        return NoDelayHttpToolsProtocol
    return NoDelayH11Protocol
