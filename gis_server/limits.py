"""What every request must satisfy before any route sees it: a bounded body, no NUL.

One ASGI middleware, outermost, so no route can read past the limit:
- a `Content-Length` above `server.max_body_bytes` is a 413 before one byte of
  the body is read; a body without one (chunked) is a 413 as it crosses the
  limit. Either way the connection is closed, so the rest is never read.
- a NUL character in the path or in a query parameter (name or value) is a 400
  naming it: PostgreSQL cannot store or compare text with NUL, so it would
  reach the database as an error (a 500) on any route that passes it on.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis_server.errors import InvalidParameter, OnemapError, PayloadTooLarge, onemap_error_response

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
    """The body limit and the NUL check, answered with the one JSON error body."""

    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

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
        # with a Content-Length the server delivers no more than it declared
        counted = receive if declared is not None else self._counting(receive)
        await self.app(scope, counted, send)

    def _counting(self, receive: Receive) -> Receive:
        """`receive` that raises PayloadTooLarge (answered by the app's handlers, which
        the route reading the body runs under) once the body passes the limit."""
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise PayloadTooLarge(self.max_body_bytes)
            return message

        return counted
