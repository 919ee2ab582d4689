"""One listening socket per uvicorn worker (SO_REUSEPORT), so the kernel spreads connections.

uvicorn's `--workers N` binds one socket and every worker accepts on it: under a
burst of keep-alive connections the first worker to wake up often takes all of
them (8/0 at concurrency 8) and the other idles for the whole run. With
SO_REUSEPORT each worker listens on its own socket bound to the same address and
the kernel hashes new connections across them.

The parent binds a `ReusePortSocket` (reserving the address; it never listens);
uvicorn's supervisor pickles it into each spawned worker, where it unpickles as
a fresh SO_REUSEPORT socket bound to the same address (`twin`), not a duplicate
of the parent's. Worker restarts by the supervisor get their own socket likewise.

Sockets are made with proto IPPROTO_TCP: asyncio sets TCP_NODELAY only on such
sockets' connections (uvloop on every TCP connection), so a small keep-alive
response never waits ~40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import socket
from typing import Any

AVAILABLE = hasattr(socket, "SO_REUSEPORT")


def _reuse(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def twin(family: int, address: Any) -> socket.socket:
    """A new SO_REUSEPORT socket bound to `address` (a worker's own listening socket)."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    _reuse(sock)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


class ReusePortSocket(socket.socket):
    """The parent's bound socket; pickled (into a spawned worker) it becomes a `twin`."""

    def __reduce__(self) -> tuple[Any, ...]:
        return twin, (self.family, self.getsockname())


def bind(host: str, port: int) -> ReusePortSocket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = ReusePortSocket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    _reuse(sock)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
