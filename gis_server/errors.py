"""One exception hierarchy, one status map, one JSON error body (after tipg/titiler errors.py).

Every error a client can cause is an `OnemapError` subclass — OGC, editing,
auth and console alike; `DEFAULT_STATUS_CODES` maps each class to its HTTP
status in one place, and `add_exception_handlers` turns them into
`{"code": ..., "description": ...}` bodies (plus the parameter or property they
name) with the headers the error carries (a 401's challenge, a 429's or 503's
Retry-After). Anything else is a bug: it is logged and answered with a JSON
500 that leaks no internals.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

LOGGER = logging.getLogger(__name__)


class OnemapError(Exception):
    """Base of every error onemap reports to a client; `code` is machine-readable."""

    code = "NoApplicableCode"

    def __init__(self, description: str, *, headers: dict[str, str] | None = None, **extra: object):
        super().__init__(description)
        self.description = description
        self.headers = dict(headers or {})  # sent with the error response
        self.extra = extra  # more JSON members of the error body (e.g. violations)


class NotFound(OnemapError):
    """A collection, feature, track or route that does not exist."""

    code = "NotFound"


class InvalidParameter(OnemapError):
    """A request parameter is malformed or not allowed; the body names it."""

    code = "InvalidParameterValue"

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}", parameter=parameter)
        self.parameter = parameter


class InvalidConsoleParameter(InvalidParameter):
    """A bad parameter of the console's own API, whose clients know it as "InvalidParameter"."""

    code = "InvalidParameter"


class DatabaseUnavailable(OnemapError):
    """PostGIS cannot be reached (or the schema is not migrated): retry in a few seconds."""

    code = "ServiceUnavailable"
    RETRY_AFTER_S = 5

    def __init__(self, description: str):
        super().__init__(description, headers={"Retry-After": str(self.RETRY_AFTER_S)})


class InvalidFeature(OnemapError):
    """A written feature breaks the layer's schema; `property` names the culprit."""

    code = "InvalidFeature"

    def __init__(self, prop: str, message: str):
        super().__init__(f"{prop}: {message}", property=prop)


class Conflict(OnemapError):
    """The write conflicts with the data (topology rules, an existing code)."""

    code = "Conflict"


class InvalidTransition(Conflict):
    """A dispatch action not possible in the event's state; names the state and the next actions."""

    code = "InvalidTransition"

    def __init__(self, description: str, status: str, allowed: list[str]):
        super().__init__(description, current_status=status, allowed_actions=allowed)


class OffDuty(Conflict):
    """A grid worker's position or sign-off while not on duty (positions only on duty)."""

    code = "OffDuty"


class PreconditionFailed(OnemapError):
    """If-Match names a version that is no longer current (someone else edited)."""

    code = "PreconditionFailed"


class PreconditionRequired(OnemapError):
    """The layer requires If-Match on edits and the request has none."""

    code = "PreconditionRequired"


class MethodNotAllowed(OnemapError):
    """The resource exists but does not take this method; `Allow` lists the ones it takes."""

    code = "MethodNotAllowed"

    def __init__(self, description: str, allow: tuple[str, ...]):
        super().__init__(description, headers={"Allow": ", ".join(allow)})


class UnsupportedMediaType(OnemapError):
    """A request body in a media type the route does not read (e.g. a write that is not JSON)."""

    code = "UnsupportedMediaType"

    def __init__(self, message: str):
        super().__init__(f"Content-Type: {message}", header="Content-Type")


class NotAuthenticated(OnemapError):
    """No valid credentials: 401 and a challenge naming the Bearer scheme."""

    code = "NotAuthenticated"

    def __init__(self, description: str = "需要登录 — authentication required"):
        super().__init__(description, headers={"WWW-Authenticate": 'Bearer realm="onemap"'})


class InvalidCredentials(NotAuthenticated):
    """Wrong username or password (deliberately not saying which)."""

    code = "InvalidCredentials"

    def __init__(self) -> None:
        super().__init__("用户名或密码错误 — wrong username or password")


class Forbidden(OnemapError):
    """Valid credentials, wrong role (or a missing/wrong CSRF token): 403."""

    code = "Forbidden"


class CsrfFailed(Forbidden):
    """A cookie-authenticated change without the session's X-CSRF-Token."""

    code = "CsrfTokenMissingOrWrong"


class TooManyAttempts(OnemapError):
    """Too many failed logins for this username and client: 429 with Retry-After."""

    code = "TooManyAttempts"

    def __init__(self, retry_after: int):
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            f"登录失败次数过多，请 {self.retry_after} 秒后再试 — "
            f"too many failed logins; retry after {self.retry_after} s",
            headers={"Retry-After": str(self.retry_after)},
        )


class PayloadTooLarge(OnemapError):
    """A request body over the limit: 413, and the connection is closed (the rest is not read)."""

    code = "PayloadTooLarge"

    def __init__(self, limit: int):
        super().__init__(
            f"请求体过大 — request body larger than {limit} bytes",
            headers={"Connection": "close"},
            limit=limit,
        )


class RequestTimeout(OnemapError):
    """A body trickled slower than the server allows: 408, and the connection is closed."""

    code = "RequestTimeout"

    def __init__(self, description: str):
        super().__init__(description, headers={"Connection": "close"})


class InvalidBatch(OnemapError):
    """A feed batch that is not a JSON array/object or CSV of fixes, or has too many rows;
    `row` names the row when one is to blame (bad rows of a good batch are reported, not raised)."""

    code = "InvalidBatch"

    def __init__(self, message: str, row: int | None = None):
        extra = {} if row is None else {"row": row}
        super().__init__(message, **extra)


DEFAULT_STATUS_CODES: dict[type[OnemapError], int] = {
    InvalidBatch: 400,
    NotFound: 404,
    InvalidParameter: 400,
    InvalidFeature: 422,
    Conflict: 409,
    InvalidTransition: 409,
    OffDuty: 409,
    PreconditionFailed: 412,
    PreconditionRequired: 428,
    NotAuthenticated: 401,
    MethodNotAllowed: 405,
    UnsupportedMediaType: 415,
    Forbidden: 403,
    TooManyAttempts: 429,
    PayloadTooLarge: 413,
    RequestTimeout: 408,
    DatabaseUnavailable: 503,
    OnemapError: 500,
}


_CONNECTION_ERRORS = {
    ("psycopg2", "OperationalError"),
    ("psycopg2", "InterfaceError"),
    ("psycopg", "OperationalError"),
    ("psycopg", "InterfaceError"),
    ("psycopg_pool", "PoolTimeout"),
}


def is_connection_error(exc: BaseException) -> bool:
    """A driver's "the database is not there" (either driver; neither is imported here).

    SQLSTATE class 57/08 errors and broken sockets are OperationalError or
    InterfaceError in psycopg2 and psycopg 3 alike; a query's own failures are not.
    """
    for cls in type(exc).__mro__:
        if (cls.__module__.split(".")[0], cls.__name__) in _CONNECTION_ERRORS:
            code = getattr(exc, "pgcode", None) or getattr(exc, "sqlstate", None)
            return code is None or code[:2] in ("08", "57")
    return False


def status_for(exc: OnemapError) -> int:
    """Status of the most specific class of `exc` in `DEFAULT_STATUS_CODES`."""
    for cls in type(exc).__mro__:
        if cls in DEFAULT_STATUS_CODES:
            return DEFAULT_STATUS_CODES[cls]
    return 500


def onemap_error_response(exc: OnemapError) -> JSONResponse:
    """The JSON answer to an OnemapError (its code, description, extra members and headers).

    Also what ASGI middleware sends itself: errors raised there never reach the
    app's exception handlers.
    """
    body = {"code": exc.code, "description": exc.description, **exc.extra}
    return JSONResponse(body, status_code=status_for(exc), headers=exc.headers)


def add_exception_handlers(app: Starlette) -> None:
    """Answer OnemapErrors, Starlette HTTP errors and bugs with JSON bodies."""

    async def onemap_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OnemapError)
        return onemap_error_response(exc)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return JSONResponse(
            {"code": code, "description": f"{request.url.path}: {exc.detail}"},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        if is_connection_error(exc):  # the database went away mid-request: retry, not a bug
            LOGGER.warning("database unavailable on %s: %s", request.url.path, exc)
            return onemap_error_response(DatabaseUnavailable("database unavailable, retry later"))
        LOGGER.exception("unhandled error on %s", request.url.path, exc_info=exc)
        body = {"code": "InternalError", "description": "internal error (see server log)"}
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(OnemapError, onemap_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, bug)
