"""`onemap serve` sets TCP_NODELAY on accepted connections (no Nagle delay on keep-alive)."""

from __future__ import annotations

import socket

from gis_server.cli import http_protocol


class _Transport:
    def __init__(self, sock: socket.socket):
        self.sock = sock

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None


def test_set_nodelay_on_an_accepted_tcp_connection():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:  # proto 0, as uvicorn's
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as _client:
            conn, _ = server.accept()
            with conn:
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                http_protocol.set_nodelay(_Transport(conn))
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_serve_uses_a_nodelay_protocol():
    cls = http_protocol.protocol()
    assert cls.connection_made is not cls.__mro__[1].connection_made


def test_reuseport_workers_each_get_connections():
    """Each worker's twin socket accepts: the kernel spreads connections over both."""
    import pickle
    import selectors

    from gis_server.cli import reuseport

    if not reuseport.AVAILABLE:
        return
    parent = reuseport.bind("127.0.0.1", 0)
    # what a spawned worker gets: a new socket on the same address, not the parent's
    workers = [pickle.loads(pickle.dumps(parent)) for _ in range(2)]
    try:
        for w in workers:
            assert w.fileno() != parent.fileno()
            assert w.getsockname() == parent.getsockname()
            w.listen(128)
            w.setblocking(False)
        clients = [socket.create_connection(parent.getsockname()) for _ in range(64)]
        accepted = [0, 0]
        with selectors.DefaultSelector() as sel:
            for i, w in enumerate(workers):
                sel.register(w, selectors.EVENT_READ, i)
            while sum(accepted) < len(clients):
                for key, _ in sel.select(timeout=5):
                    try:
                        conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                    except BlockingIOError:
                        continue
                    conn.close()
                    accepted[key.data] += 1
        assert all(n > 0 for n in accepted), accepted
        for c in clients:
            c.close()
    finally:
        for s in (parent, *workers):
            s.close()


class _Recorder:
    """A transport that records what reaches the socket, send by send."""

    def __init__(self) -> None:
        self.sends: list[bytes] = []
        self.closed = False

    def writelines(self, chunks) -> None:
        self.sends.append(b"".join(chunks))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_coalescing_sends_one_turns_writes_at_once():
    import asyncio

    from tests.helpers import run_async

    async def scenario() -> _Recorder:
        real = _Recorder()
        transport = http_protocol.CoalescingTransport(real)
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert real.sends == []  # nothing yet: the turn is not over
        await asyncio.sleep(0)
        assert real.sends == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        big = b"x" * http_protocol.COALESCE_MAX_BYTES
        transport.write(big)  # past the limit: out at once (flow control sees it)
        assert real.sends[-1] == big
        transport.write(b"last")
        assert not transport.is_closing()  # other attributes are the real transport's
        transport.close()  # close flushes first
        assert real.sends[-1] == b"last" and real.closed
        await asyncio.sleep(0)  # the scheduled flush finds nothing left
        assert len(real.sends) == 3
        return real

    run_async(scenario())
