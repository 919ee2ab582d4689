"""What every request must satisfy before any route sees it: a bounded body, no NUL.

One ASGI middleware, outermost, so no route can read past the limit:
- a `Content-Length` above `server.max_body_bytes` is a 413 before one byte of
  the body is read; a body without one (chunked) is a 413 as it crosses the
  limit. Either way the connection is closed, so the rest is never read.
- a NUL character in the path or in a query parameter (name or value) is a 400
  naming it: PostgreSQL cannot store or compare text with NUL, so it would
  reach the database as an error (a 500) on any route that passes it on.
- a body must keep coming: each piece within `server.body_timeout_s` of the
  last, and after that first stretch at `server.min_body_rate` bytes/s on
  average, or the request is a 408 and its connection closed (a body trickled
  a byte at a time would otherwise hold its socket and request forever). Only
  an unfinished body is timed: a stream waiting for the client to disconnect
  (server-sent events) is not.
"""

from __future__ import annotations

import asyncio
import time

from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis_server.errors import (
    InvalidParameter,
    OnemapError,
    PayloadTooLarge,
    RequestTimeout,
    onemap_error_response,
)

_NUL = "\x00"


def _check_text(scope: Scope) -> None:
    """400 naming the path or the first query parameter with a NUL character."""
    if _NUL in scope["path"]:
        raise InvalidParameter("path", "含 NUL 字符 — the path contains a NUL character")
    query = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return  # the common case, without parsing the query
    for name, value in QueryParams(query).multi_items():
        if _NUL in name or _NUL in value:
            raise InvalidParameter(
                name.replace(_NUL, "\\u0000"), "含 NUL 字符 — contains a NUL character"
            )


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit():
            return int(value)
    return None


class RequestLimits:
    """The body limits and the NUL check, answered with the one JSON error body."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout_s: float = 10.0,
        min_body_rate: int = 1024,
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.min_body_rate = min_body_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_text(scope)
            declared = _declared_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                raise PayloadTooLarge(self.max_body_bytes)
        except OnemapError as exc:
            await onemap_error_response(exc)(scope, receive, send)
            return
        await self.app(scope, self._guarded(receive, count=declared is None), send)

    def _guarded(self, receive: Receive, count: bool) -> Receive:
        """`receive` that raises PayloadTooLarge once a body without Content-Length passes
        the limit (with one, the server delivers no more than declared), and
        RequestTimeout when an unfinished body stalls or trickles; both are answered by
        the app's handlers, which the route reading the body runs under."""
        received = 0
        started: float | None = None
        done = False

        async def guarded() -> Message:
            nonlocal received, started, done
            if done:
                return await receive()
            now = time.monotonic()
            started = now if started is None else started
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout_s)
            except TimeoutError:
                raise RequestTimeout(
                    f"请求体停滞 — no request body received for {self.body_timeout_s:g} s"
                ) from None
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            done = not message.get("more_body", False)
            if count and received > self.max_body_bytes:
                raise PayloadTooLarge(self.max_body_bytes)
            elapsed = time.monotonic() - started
            if (
                not done
                and elapsed > self.body_timeout_s
                and received < self.min_body_rate * elapsed
            ):
                raise RequestTimeout(
                    f"请求体过慢 — request body arriving at {received / elapsed:.0f} bytes/s, "
                    f"below {self.min_body_rate} bytes/s"
                )
            return message

        return guarded
