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
