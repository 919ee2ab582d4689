"""One exception hierarchy, one status map, one JSON error body (after tipg/titiler errors.py).

Every error a client can cause is an `OnemapError` subclass; `DEFAULT_STATUS_CODES`
maps each class to its HTTP status in one place, and `add_exception_handlers`
turns them into `{"code": ..., "description": ...}` bodies. Anything else is a
bug: it is logged and answered with a JSON 500 that leaks no internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

LOGGER = logging.getLogger(__name__)


class OnemapError(Exception):
    """Base of every error onemap reports to a client; `code` is machine-readable."""

    code = "NoApplicableCode"

    def __init__(self, description: str, **extra: object):
        super().__init__(description)
        self.description = description
        self.extra = extra  # more JSON members of the error body (e.g. violations)


class NotFound(OnemapError):
    """A collection, feature or route that does not exist."""

    code = "NotFound"


class InvalidParameter(OnemapError):
    """A request parameter is malformed or not allowed; the description names it."""

    code = "InvalidParameterValue"

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class DatabaseUnavailable(OnemapError):
    """PostGIS cannot be reached (or the schema is not migrated): retry later."""

    code = "ServiceUnavailable"


class InvalidFeature(OnemapError):
    """A written feature breaks the layer's schema; `property` names the culprit."""

    code = "InvalidFeature"

    def __init__(self, prop: str, message: str):
        super().__init__(f"{prop}: {message}", property=prop)


class Conflict(OnemapError):
    """The write conflicts with the data (topology rules, an existing code)."""

    code = "Conflict"


class PreconditionFailed(OnemapError):
    """If-Match names a version that is no longer current (someone else edited)."""

    code = "PreconditionFailed"


class PreconditionRequired(OnemapError):
    """The layer requires If-Match on edits and the request has none."""

    code = "PreconditionRequired"


DEFAULT_STATUS_CODES: dict[type[OnemapError], int] = {
    NotFound: 404,
    InvalidParameter: 400,
    InvalidFeature: 422,
    Conflict: 409,
    PreconditionFailed: 412,
    PreconditionRequired: 428,
    DatabaseUnavailable: 503,
    OnemapError: 500,
}


def error_body(code: str, description: str) -> dict[str, str]:
    return {"code": code, "description": description}


def error_response(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse(error_body(code, description), status_code=status)


def status_for(exc: OnemapError, codes: Mapping[type[OnemapError], int]) -> int:
    """Status of the most specific class of `exc` listed in `codes`."""
    for cls in type(exc).__mro__:
        if cls in codes:
            return codes[cls]
    return 500


def onemap_error_response(
    exc: OnemapError, codes: Mapping[type[OnemapError], int] = DEFAULT_STATUS_CODES
) -> JSONResponse:
    """The JSON answer to an OnemapError (its code, description and extra members)."""
    body = {**error_body(exc.code, exc.description), **exc.extra}
    return JSONResponse(body, status_code=status_for(exc, codes))


def add_exception_handlers(
    app: Starlette, codes: Mapping[type[OnemapError], int] = DEFAULT_STATUS_CODES
) -> None:
    """Answer OnemapErrors, Starlette HTTP errors and bugs with JSON bodies."""

    async def onemap_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OnemapError)
        return onemap_error_response(exc, codes)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return JSONResponse(
            error_body(code, f"{request.url.path}: {exc.detail}"),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        LOGGER.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return error_response(500, "InternalError", "internal error (see server log)")

    app.add_exception_handler(OnemapError, onemap_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, bug)
