"""Hostile clients against the real app: the editing tests' tiny town, users and client,
an ASGI caller that shows what a route read, and a real `onemap serve` with a short
header timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.editing.conftest import (  # noqa: F401 - fixtures, used by name
    app_settings,
    client,
    editor,
    key,
    line,
    sql,
    square,
    town,
)
from tests.helpers import run_async

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0


class Sent:
    """What an ASGI app answered, and how many body bytes it asked `receive` for."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.received = 0


def call_asgi(
    app: Any, method: str, path: str, headers: dict[str, str], chunks: Iterator[bytes] | None
) -> Sent:
    """One request straight into the ASGI app; `receive` hands out `chunks` one by one
    (None: `receive` must never be called — the body is not read)."""
    sent = Sent()

    async def receive() -> dict[str, Any]:
        assert chunks is not None, "the app read a body it should have refused unread"
        await asyncio.sleep(0)
        data = next(chunks, None)
        if data is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent.received += len(data)
        return {"type": "http.request", "body": data, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def run() -> None:
        await asyncio.wait_for(app(scope, receive, send), 30)

    run_async(run())
    return sent


@pytest.fixture(scope="session")
def short_timeout_server(db_dsn: str) -> Iterator[tuple[str, int]]:
    """`onemap serve` with server.header_timeout_s and body_timeout_s = 1; yields (host, port)."""
    from tests.helpers import onemap_serve

    env = {
        "DATABASE_URL": db_dsn,
        "ONEMAP_SERVER__HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "ONEMAP_SERVER__BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    }
    with onemap_serve(env, "hostile_server.log", "--no-access-log") as (_base, port):
        yield "127.0.0.1", port
