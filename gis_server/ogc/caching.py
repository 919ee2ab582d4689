"""HTTP caching: ETag/Last-Modified from per-layer change counters, 304s, gzip.

Items, features and tiles take their validators from the change counters; the
console's cached bodies (`DigestBody`) from a digest of their bytes. Both use the
same conditional-request (`not_modified`) and gzip (`accepts_gzip`, `sends_gzip`)
rules.

`layer_changes` (migration 0004) holds one (version, changed_at) row per layer
table, bumped by statement-level triggers. Reading it is one tiny query; the
result is kept for `TTL` seconds per process, so a burst of requests costs one
read. The version is read *before* the data, so a response is never labelled
newer than it is: at worst a client refetches once more than needed.

Items' JSON validators are weak (W/...): bodies carry a `timeStamp`, so two
answers with the same ETag are equivalent, not byte-equal. A DigestBody's is
strong: it is a digest of the very bytes.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import psycopg
import psycopg.errors

from gis_server import replicas
from gis_server.ogc.adb import AsyncDB

LOGGER = logging.getLogger(__name__)

TTL = 1.0  # seconds a process trusts its copy of layer_changes
ITEMS_CACHE_CONTROL = "public, max-age=5"
TILES_CACHE_CONTROL = "public, max-age=60"
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 3  # large GeoJSON pages: most of the gain for a fraction of level 6's CPU
KEPT_GZIP_LEVEL = 5  # a DigestBody is compressed once and sent many times: worth more CPU


@dataclass(frozen=True)
class Change:
    version: int
    changed_at: datetime

    @cached_property
    def stamp(self) -> str:
        """The version part of every validator of this layer version (computed once)."""
        return f"{self.version:x}.{int(self.changed_at.timestamp() * 1e6):x}"

    @cached_property
    def http_date(self) -> str:
        """changed_at as a Last-Modified value (computed once)."""
        return email.utils.format_datetime(self.changed_at.astimezone(UTC), usegmt=True)


class LayerVersions:
    """The process's cached copy of layer_changes (empty when the table is missing), one
    per server read: a replica's counters go with a replica's rows (`gis_server.replicas`),
    so a body read on a lagging replica is never cached under the primary's version."""

    def __init__(self, ttl: float = TTL):
        self.ttl = ttl
        self._copies: dict[str, tuple[float, dict[str, Change]]] = {}

    async def get_async(self, table: str, db: AsyncDB) -> Change | None:
        """The table's counter; a stale copy is re-read through `db` (on the event loop)."""
        server = replicas.read_dsn(db.dsn)
        read_at, changes = self._copies.get(server, (float("-inf"), {}))
        if time.monotonic() - read_at > self.ttl:
            changes = await self._read_async(db)
            self._copies[server] = (time.monotonic(), changes)
        return changes.get(table.rpartition(".")[2])

    def invalidate(self) -> None:
        self._copies.clear()

    async def _read_async(self, db: AsyncDB) -> dict[str, Change]:
        try:
            async with db.connection() as conn, conn.cursor() as cur:
                await cur.execute("SELECT layer, version, changed_at FROM layer_changes")
                return {r[0]: Change(r[1], r[2]) for r in await cur.fetchall()}
        except psycopg.errors.UndefinedTable:
            return {}
        except psycopg.Error as exc:  # no validators rather than no answer
            LOGGER.warning("layer_changes unreadable: %s", exc)
            return {}


def clocked(change: Change | None, period_s: int) -> Change | None:
    """For a collection whose answers also change with the clock (a derived `online`): the
    counter's change, or the start of the current `period_s` if that is later — so its
    ETag, Last-Modified and cached tiles turn over at least once per period."""
    if change is None or period_s <= 0:
        return change
    tick = datetime.fromtimestamp(time.time() // period_s * period_s, UTC)
    return change if change.changed_at >= tick else Change(change.version, tick)


def etag(change: Change | None, *parts: str, weak: bool = True) -> str | None:
    """A validator for one representation: layer version + a digest of what was asked."""
    if change is None:
        return None
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()
    stamp = f"{change.stamp}.{digest}"
    return f'W/"{stamp}"' if weak else f'"{stamp}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def not_modified(headers: Mapping[str, str], tag: str | None, change: Change | None) -> bool:
    """If-None-Match (weak comparison) wins; If-Modified-Since only without it (RFC 9110)."""
    inm = headers.get("if-none-match")
    if inm is not None:
        if tag is None:
            return False
        if inm.strip() == "*":
            return True
        return _opaque(tag) in {_opaque(t) for t in inm.split(",")}
    ims = headers.get("if-modified-since")
    if ims is None or change is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return int(change.changed_at.timestamp()) <= int(since.timestamp())


def validators(tag: str | None, change: Change | None, cache_control: str) -> dict[str, str]:
    headers = {"Cache-Control": cache_control}
    if tag is not None:
        headers["ETag"] = tag
    if change is not None:
        headers["Last-Modified"] = change.http_date
    return headers


def accepts_gzip(headers: Mapping[str, str]) -> bool:
    for part in headers.get("accept-encoding", "").split(","):
        name, _, q = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return q.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def gzip_bytes(body: bytes, level: int = GZIP_LEVEL) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    return compressor.compress(body) + compressor.flush()


def sends_gzip(size: int, wanted: bool, headers: dict[str, str]) -> bool:
    """Whether a body of `size` bytes goes gzipped; notes in `headers` that the answer
    depends on Accept-Encoding (so shared caches keep the variants apart)."""
    vary = headers.get("Vary")
    if not vary:
        headers["Vary"] = "Accept-Encoding"
    elif "Accept-Encoding" not in vary:  # kept: what the caller already varies on
        headers["Vary"] = f"{vary}, Accept-Encoding"
    if not wanted or size < GZIP_MIN_BYTES:
        return False
    headers["Content-Encoding"] = "gzip"
    return True


def maybe_gzip(body: bytes, wanted: bool, headers: dict[str, str]) -> bytes:
    """gzip once, here (the app has no GZip middleware, so nothing compresses twice)."""
    return gzip_bytes(body) if sends_gzip(len(body), wanted, headers) else body


class DigestBody:
    """A body that is its own validator: a strong ETag digested from its bytes, and its
    gzip made once, when a client first accepts it (for bodies kept in a cache and sent
    many times per change, like the console's layers, which no change counter labels)."""

    def __init__(self, data: bytes):
        self.data = data
        self.etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'

    @cached_property
    def gzipped(self) -> bytes:
        return gzip_bytes(self.data, KEPT_GZIP_LEVEL)

    def encoded(self, wanted: bool, headers: dict[str, str]) -> bytes:
        """The bytes for a client that does (not) accept gzip; sets the encoding headers."""
        return self.gzipped if sends_gzip(len(self.data), wanted, headers) else self.data
