"""What the dispatch domain refuses, in its own words; gis_server maps them to HTTP."""

from __future__ import annotations


class DispatchError(Exception):
    """Base of the domain's refusals."""


class UnknownEvent(DispatchError):
    def __init__(self, code: str):
        super().__init__(f"没有该事件 — no event {code!r}")
        self.event_code = code


class BadInput(DispatchError):
    """A field of a request is missing or wrong; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class TransitionRefused(DispatchError):
    """The action is not possible from the event's current state (409)."""

    def __init__(self, status: str, action: str, allowed: list[str], why: str | None = None):
        super().__init__(
            f"状态 {status} 不能执行 {action} — action {action!r} is not allowed in state "
            f"{status!r}{f' ({why})' if why else ''}; allowed next: {', '.join(allowed) or 'none'}"
        )
        self.status = status
        self.allowed = allowed


class NotPermitted(DispatchError):
    """The actor's role or scope does not allow the action on this event (403)."""


class VersionConflict(DispatchError):
    """Someone else changed the event since the version the client read (412)."""

    def __init__(self, expected: int, current: int):
        super().__init__(
            f"事件已被他人修改 — event changed: expected version {expected}, current {current}"
        )
        self.current = current
