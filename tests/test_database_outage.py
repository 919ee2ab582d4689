"""A database that goes away and comes back, for both pools (sync `database.pooled`
and the hot paths' `adb.AsyncDB`): a 503 (DatabaseUnavailable) while it is away,
and the first request after its return is served.

The outage is real at the TCP level: the pools reach PostgreSQL through a small
proxy that, when taken down, resets every connection and refuses new ones.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest

from gis_server import database
from gis_server.errors import DatabaseUnavailable
from gis_server.ogc import adb
from tests.helpers import run_async


class Proxy:
    """TCP forwarder to `target`, on a fixed loopback port, that can be cut and restored."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def up(self) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(16)
        self.port, self._listener = srv.getsockname()[1], srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def down(self) -> None:
        srv, self._listener = self._listener, None
        for s in [srv, *self._open]:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes accept() and both pipes
            with contextlib.suppress(OSError):
                s.close()
        self._open = []

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            b.shutdown(socket.SHUT_WR)


@pytest.fixture()
def proxied_dsn(db_dsn):
    parts = urlsplit(db_dsn)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.up()
    user = f"{parts.username}@" if parts.username else ""
    try:
        yield proxy, urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))
    finally:
        proxy.down()
        database.close_pool()


def _db_name(conn) -> str:  # noqa: ANN001
    with conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        return cur.fetchone()[0]


def test_sync_pool_503_while_away_and_serves_on_return(proxied_dsn, db_dsn):
    proxy, dsn = proxied_dsn
    name = db_dsn.rsplit("/", 1)[1]
    with database.pooled(dsn) as conn:
        assert _db_name(conn) == name
    proxy.down()
    for _ in range(3):  # the kept connection is dead, then new ones are refused
        with pytest.raises(DatabaseUnavailable, match="database unavailable"):
            with database.pooled(dsn) as conn:
                _db_name(conn)
    proxy.up()
    with database.pooled(dsn) as conn:  # the first request after the return
        assert _db_name(conn) == name


def test_async_pool_503_while_away_and_serves_on_return(proxied_dsn, db_dsn):
    proxy, dsn = proxied_dsn
    name = db_dsn.rsplit("/", 1)[1]

    async def current(db: adb.AsyncDB) -> str:
        async with db.cursor() as cur:
            await cur.execute("SELECT current_database()")
            return (await cur.fetchone())[0]

    async def run() -> None:
        db = adb.AsyncDB(dsn, 2)
        await db.open()
        try:
            assert await current(db) == name
            proxy.down()
            for _ in range(3):
                with pytest.raises(DatabaseUnavailable, match="database unavailable"):
                    await current(db)
            proxy.up()
            assert await current(db) == name
        finally:
            await db.close()

    run_async(run())
