"""Which district a read of a collection is kept to: the one place OGC reads decide it.

A district-scoped account (`users.district_code`, carried by the Principal) reads
only its district's features of every layer that has `district_code` (migration
0015): items, feature by id, hits, HTML/CSV and tiles. Anonymous readers and city
accounts (no district) read everything, as before. A scoped answer names its
district in its ETag and cache key and is `Cache-Control: private`; every answer of
a district layer varies on the credentials, so no shared cache hands one
account's rows to another.
"""

from __future__ import annotations

from collections.abc import Collection, MutableMapping

from starlette.requests import HTTPConnection

from gis_server.auth.dependencies import authenticate
from gis_server.auth.principal import Principal

DISTRICT_COLUMN = "district_code"
SCOPE_PLACEHOLDER = "onemap_read_district"  # the bound name in tile statements
_VARY_CREDENTIALS = "Authorization, X-API-Key, Cookie"


def read_district(principal: Principal | None, columns: Collection[str]) -> str | None:
    """The district `principal` is kept to on a collection of these `columns` (None: all)."""
    if principal is None or principal.district_code is None:
        return None
    return principal.district_code if DISTRICT_COLUMN in columns else None


async def district_of(conn: HTTPConnection, columns: Collection[str]) -> str | None:
    """`read_district` for the request's principal (no credentials: no database call)."""
    return read_district(await authenticate(conn), columns)


def scope_headers(
    headers: MutableMapping[str, str], district: str | None, columns: Collection[str]
) -> None:
    """Cache headers of a read of a district layer: private when scoped, and varying on the
    credentials either way (a city answer must not be served to a scoped account)."""
    if DISTRICT_COLUMN not in columns:
        return
    vary = headers.get("Vary")
    headers["Vary"] = f"{vary}, {_VARY_CREDENTIALS}" if vary else _VARY_CREDENTIALS
    if district is not None and "Cache-Control" in headers:
        headers["Cache-Control"] = headers["Cache-Control"].replace("public", "private")
