"""`server.header_timeout_s` on a real `onemap serve` (1 s here), over raw sockets:
silent and trickling (slowloris) connections are closed; keep-alive clients are not."""

from __future__ import annotations

import selectors
import socket
import time

from tests.hostile.conftest import HEADER_TIMEOUT_S

MARGIN_S = 3.0
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def closed_by_server(sock: socket.socket) -> bool:
    """True once the peer has closed (EOF or reset); never blocks."""
    sock.setblocking(False)
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def wait_closed(socks: list[socket.socket], within: float) -> float:
    """Seconds until the server has closed every socket; fails after `within`."""
    start = time.monotonic()
    open_socks = set(socks)
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        while open_socks:
            left = within - (time.monotonic() - start)
            assert left > 0, f"{len(open_socks)} of {len(socks)} connections still open"
            for key, _ in sel.select(timeout=left):
                s = key.fileobj
                if closed_by_server(s):  # type: ignore[arg-type]
                    sel.unregister(s)
                    open_socks.discard(s)  # type: ignore[arg-type]
    return time.monotonic() - start


def read_message(sock: socket.socket, timeout: float = 10) -> tuple[bytes, bytes]:
    """(head, body) of the next response on `sock` (Content-Length framed)."""
    sock.setblocking(True)
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return head, rest[:length]


def read_response(sock: socket.socket) -> bytes:
    return read_message(sock)[0]


def test_200_silent_connections_are_closed(short_timeout_server):
    socks = [socket.create_connection(short_timeout_server) for _ in range(200)]
    try:
        assert wait_closed(socks, HEADER_TIMEOUT_S + MARGIN_S) >= HEADER_TIMEOUT_S * 0.5
    finally:
        for s in socks:
            s.close()


def test_trickled_headers_are_cut_off(short_timeout_server):
    """One byte of headers every 0.1 s never completes them: closed at the deadline."""
    with socket.create_connection(short_timeout_server) as sock:
        start = time.monotonic()
        trickle = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 1000
        sent = 0
        for byte in trickle:
            try:
                sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            if closed_by_server(sock):
                break
            sock.setblocking(True)
            time.sleep(0.1)
            assert time.monotonic() - start < HEADER_TIMEOUT_S + MARGIN_S, "still open"
        assert sent < len(trickle), "the server read every trickled byte"
        assert time.monotonic() - start < HEADER_TIMEOUT_S + MARGIN_S


def test_keep_alive_clients_are_unaffected(short_timeout_server):
    """Requests on one connection, each sent within the timeout of the previous response
    (together longer than it), are all answered on that one connection."""
    with socket.create_connection(short_timeout_server) as sock:
        for _ in range(4):
            sock.sendall(REQUEST)
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(HEADER_TIMEOUT_S / 2)
        assert not closed_by_server(sock)
        sock.sendall(REQUEST)
        assert read_response(sock).startswith(b"HTTP/1.1 200")


def _answer(sock: socket.socket) -> bytes:
    sock.setblocking(True)
    sock.settimeout(10)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
        if b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[1].endswith(b"}"):
            break
    return data


def test_endless_header_is_431_and_closed(short_timeout_server):
    """64 MiB of one header, sent as fast as the socket takes it: refused past 64 KiB,
    not buffered (it was read whole into memory: 300 MB of RSS for one client)."""
    with socket.create_connection(short_timeout_server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ")
        sent = 0
        try:
            while sent < 64 << 20:
                sock.sendall(b"a" * (1 << 20))
                sent += 1 << 20
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < 8 << 20, "the server kept reading an endless header"
        answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
        assert b'"code":"RequestHeaderFieldsTooLarge"' in answer


def test_large_but_fair_headers_are_served(short_timeout_server):
    with socket.create_connection(short_timeout_server) as sock:
        cookie = b"Cookie: " + b"c" * 30_000 + b"\r\n"
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + cookie + b"\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
