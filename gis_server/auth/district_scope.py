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

import time
from collections.abc import Collection, MutableMapping

from starlette.requests import HTTPConnection

from gis_server.auth.dependencies import PRINCIPAL_KEY, authenticate, credentials
from gis_server.auth.key_cache import MAX_ENTRIES, KeyCache
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
    """`read_district` for the request's principal. No database call without credentials,
    nor for a layer without districts, nor (mostly) for a session: see `SessionDistricts`."""
    if DISTRICT_COLUMN not in columns:
        return None
    if PRINCIPAL_KEY not in conn.scope:  # not authenticated yet (public reads)
        found = credentials(conn)
        if found is None:
            return None
        if found[0] == "session":
            return await _session_district(conn, found[1], columns)
    return read_district(await authenticate(conn), columns)


class SessionDistricts:
    """The district of a session token, kept for the API-key cache's TTL (same listener,
    same clears: a user's district or role changing clears it).

    On public reads a signed-in console asks for tiles by the hundred, each with its
    session cookie: one session lookup (a thread hop and a query) per tile would cost more
    than the tile. Kept only for this read decision, never for who may write; on public
    reads a stale entry after a logout narrows what an anonymous reader may see anyway.
    """

    def __init__(self, keys: KeyCache) -> None:
        self.keys = keys
        self._entries: dict[str, tuple[float, int, str | None]] = {}
        self.hits = 0

    def get(self, token: str) -> tuple[bool, str | None]:
        entry = self._entries.get(KeyCache.digest(token))
        ok = (
            entry is not None
            and self.keys.active
            and entry[0] > time.monotonic()
            and entry[1] == self.keys.generation()
        )
        if not ok or entry is None:
            return False, None
        self.hits += 1
        return True, entry[2]

    def put(self, token: str, district: str | None, generation: int) -> None:
        if not self.keys.active or generation != self.keys.generation():
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        expires = time.monotonic() + self.keys.ttl_s
        self._entries[KeyCache.digest(token)] = (expires, generation, district)


async def _session_district(
    conn: HTTPConnection, token: str, columns: Collection[str]
) -> str | None:
    keys: KeyCache | None = getattr(conn.app.state, "key_cache", None)
    if keys is None:
        return read_district(await authenticate(conn), columns)
    cache: SessionDistricts | None = getattr(conn.app.state, "session_districts", None)
    if cache is None:
        cache = conn.app.state.session_districts = SessionDistricts(keys)
    hit, district = cache.get(token)
    if hit:
        return district
    generation = keys.generation()
    principal = await authenticate(conn)
    district = principal.district_code if principal is not None else None
    cache.put(token, district, generation)
    return read_district(principal, columns)


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
