"""Who is asking: the authenticated user behind a request."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from starlette.requests import HTTPConnection

from gis_server.auth.roles import Role

Method = Literal["session", "api_key"]


@dataclass(frozen=True)
class Principal:
    """A user with a role, and how they proved it (session cookie or API key)."""

    user_id: int
    username: str
    role: Role
    method: Method
    display_name: str | None = None
    key_id: str | None = None
    csrf_token: str | None = field(default=None, repr=False)
    # a scoped API key's collections (None: every collection the role reaches)
    collections: frozenset[str] | None = None
    # the district (admin code) the user acts in; None: the whole city (users.district_code)
    district_code: str | None = None

    def in_district(self, district_code: str | None) -> bool:
        """Whether a feature of `district_code` is the user's to act on."""
        return self.district_code is None or district_code == self.district_code

    def can(self, role: Role) -> bool:
        """A higher role may do everything a lower one may."""
        return self.role >= role

    def may_use(self, collection_id: str) -> bool:
        """Whether a scoped key reaches the collection (to write it, or read it when its
        reading is restricted)."""
        return self.collections is None or collection_id in self.collections

    def public(self) -> dict[str, object]:
        """What `/api/auth/me` shows: never a secret except the session's own CSRF token."""
        out: dict[str, object] = {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.label,
            "method": self.method,
        }
        if self.key_id:
            out["key_id"] = self.key_id
        if self.collections is not None:
            out["collections"] = sorted(self.collections)
        if self.district_code is not None:
            out["district_code"] = self.district_code
        if self.csrf_token:
            out["csrf_token"] = self.csrf_token
        return out


def client_ip(conn: HTTPConnection) -> str | None:
    """The peer address if it is an IP (proxies: run uvicorn with --proxy-headers)."""
    host = conn.client.host if conn.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None
