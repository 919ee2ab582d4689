"""`onemap serve`'s sockets: TCP_NODELAY on accepted connections, one socket per worker,
and small responses written in one send."""

from __future__ import annotations

import asyncio
import socket

import pytest

from gis_server.cli import http_protocol, reuseport

needs_reuseport = pytest.mark.skipif(
    not reuseport.AVAILABLE, reason="this platform has no SO_REUSEPORT"
)


@needs_reuseport
def test_accepted_connections_get_nodelay_on_the_stock_asyncio_loop():
    """asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets: the worker sockets are made so."""

    async def accepted_nodelay() -> int:
        sock = pickle_twin(reuseport.bind("127.0.0.1", 0))
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                got.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname())
        try:
            return await asyncio.wait_for(got, 5)
        finally:
            writer.close()
            server.close()

    from tests.helpers import run_async

    assert run_async(accepted_nodelay()) != 0  # asyncio.run, in a thread of its own


def pickle_twin(sock: socket.socket) -> socket.socket:
    """What a spawned worker gets: a new socket on the same address, not the parent's."""
    import pickle

    return pickle.loads(pickle.dumps(sock))


def test_serve_uses_a_coalescing_protocol():
    cls = http_protocol.protocol()
    assert cls.connection_made is not cls.__mro__[1].connection_made


@needs_reuseport
def test_reuseport_workers_each_get_connections():
    """Each worker's twin socket accepts: the kernel spreads connections over both."""
    import selectors

    parent = reuseport.bind("127.0.0.1", 0)
    workers = [pickle_twin(parent) for _ in range(2)]
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
