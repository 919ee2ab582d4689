"""`server.body_timeout_s` / `min_body_rate` on a real `onemap serve` (1 s, 1024 B/s here):
a stalled or trickled request body is a 408 and its connection closed; a body that keeps
coming at a fair rate is read, even when it takes longer than the timeout."""

from __future__ import annotations

import json
import socket
import time

from tests.hostile.conftest import BODY_TIMEOUT_S
from tests.hostile.test_header_timeout import MARGIN_S, closed_by_server, read_message

LOGIN = "POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


def _head(length: int) -> bytes:
    return f"{LOGIN}Content-Length: {length}\r\n\r\n".encode()


def _response(sock: socket.socket, within: float) -> tuple[int, dict, bool]:
    """(status, JSON body, closed afterwards) of the one response on `sock`."""
    head, body = read_message(sock, within)
    deadline = time.monotonic() + within
    closed = False
    while time.monotonic() < deadline and not closed:
        closed = closed_by_server(sock)
        time.sleep(0.05)
    return int(head.split()[1]), json.loads(body), closed


def test_stalled_body_is_408_and_closed(short_timeout_server):
    with socket.create_connection(short_timeout_server) as sock:
        start = time.monotonic()
        sock.sendall(_head(100) + b'{"username": ')
        status, body, closed = _response(sock, BODY_TIMEOUT_S + MARGIN_S)
        assert (status, body["code"]) == (408, "RequestTimeout")
        assert closed
        assert time.monotonic() - start < BODY_TIMEOUT_S + 2 * MARGIN_S


def test_trickled_body_is_408(short_timeout_server):
    """Ten bytes every 0.2 s (50 B/s) never stalls for the timeout, but is far too slow."""
    with socket.create_connection(short_timeout_server) as sock:
        sock.sendall(_head(10_000))  # under login's 16 KiB
        start = time.monotonic()
        answered = None
        while time.monotonic() - start < BODY_TIMEOUT_S + 2 * MARGIN_S:
            try:
                sock.sendall(b" " * 10)
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.setblocking(False)
            try:
                answered = sock.recv(65536)
            except BlockingIOError:
                answered = None
            sock.setblocking(True)
            if answered:
                break
            time.sleep(0.2)
        assert answered and answered.startswith(b"HTTP/1.1 408"), answered


def test_fair_body_slower_than_the_timeout_is_read(short_timeout_server):
    """3,000 bytes in six pieces 0.3 s apart: 1.8 s in all, ~1,700 B/s: read, then judged."""
    with socket.create_connection(short_timeout_server) as sock:
        body = b"x" * 3000
        sock.sendall(_head(len(body)))
        for i in range(6):
            sock.sendall(body[i * 500 : (i + 1) * 500])
            time.sleep(0.3)
        status, answer, _ = _response(sock, 5)
        assert status == 400, answer  # not JSON: the route read it all and said so
        assert answer["code"] != "RequestTimeout"
