"""Auth failures as typed exceptions, each knowing its HTTP status and JSON body.

The app maps them in one place (see `auth_exception_handlers`); the error
body is ``{"code": ..., "description": ...}`` like every other onemap error.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


class AuthError(Exception):
    status_code = 401
    code = "AuthError"

    def __init__(self, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.description = description
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"code": self.code, "description": self.description},
            status_code=self.status_code,
            headers=self.headers,
        )


class NotAuthenticated(AuthError):
    """No valid credentials: 401 and a challenge naming the Bearer scheme."""

    status_code = 401
    code = "NotAuthenticated"

    def __init__(self, description: str = "需要登录 — authentication required"):
        super().__init__(description, {"WWW-Authenticate": 'Bearer realm="onemap"'})


class InvalidCredentials(NotAuthenticated):
    """Wrong username or password (deliberately not saying which)."""

    code = "InvalidCredentials"

    def __init__(self) -> None:
        super().__init__("用户名或密码错误 — wrong username or password")


class Forbidden(AuthError):
    """Valid credentials, wrong role (or a missing/wrong CSRF token): 403."""

    status_code = 403
    code = "Forbidden"


class CsrfFailed(Forbidden):
    """A cookie-authenticated change without the session's X-CSRF-Token."""

    code = "CsrfTokenMissingOrWrong"


class TooManyAttempts(AuthError):
    """Too many failed logins for this username and client: 429 with Retry-After."""

    status_code = 429
    code = "TooManyAttempts"

    def __init__(self, retry_after: int):
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            f"登录失败次数过多，请 {self.retry_after} 秒后再试 — "
            f"too many failed logins; retry after {self.retry_after} s",
            {"Retry-After": str(self.retry_after)},
        )


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    return exc.response()


def auth_exception_handlers() -> dict[type[Exception], object]:
    """``Starlette(exception_handlers=...)`` entries turning AuthError into JSON."""
    return {AuthError: _handle}
