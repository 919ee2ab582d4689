"""Read replicas: which server a read-only request reads from, and read-your-writes.

PostgreSQL streaming replicas (`database.replicas`, DATABASE_URL_REPLICAS) serve the
read-only request paths; the primary takes writes and everything in a write
transaction. All of the decision lives here, in three parts:

- `ReplicaSet` polls each replica once a second from one thread (its replay LSN,
  whether it is still in recovery) and samples the primary's WAL position, so a
  request only reads a cached state: no query per request. A replica's lag is the age
  of the newest primary sample it has replayed (a clock-free measure: an idle primary
  is not "lagging"); while the primary is unreachable its last sample counts as now
  (nothing newer can exist), so reads go on from the replica during a failover.
  A replica that is down, promoted, or more than `replica_max_lag_s` behind is skipped.
- `ReplicaRouting` (ASGI middleware) decides once per request: GET/HEAD may read
  from a replica that has replayed the client's last write (cookie `onemap_lsn` or
  header `X-Onemap-LSN`); other methods read the primary. After an unsafe request
  it reads `pg_current_wal_lsn()` on the primary (past the handler's commit) and
  sends it back in both, so the editor who just saved reads their own write.
  GETs say where they were sent in `X-Onemap-Read: replica|primary`.
- `read_dsn(primary)` is what the pools consult (`database.pooled(..., read=True)`,
  `ogc/adb.AsyncDB`): the request's replica, or the primary. A pool that cannot get a
  replica connection calls `mark_down` and reads the primary instead.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

LOGGER = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
CONNECT_TIMEOUT_S = 1
COOKIE = "onemap_lsn"
HEADER = "x-onemap-lsn"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAMPLES = 600  # ten minutes of primary WAL positions at one a second

_PRIMARY_SQL = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() - '0/0' END"
)
_REPLICA_SQL = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() - '0/0'"
_LSN_SQL = "SELECT pg_current_wal_lsn()::text"
_LSN_TEXT = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")


def parse_lsn(text: str | None) -> int | None:
    """'16/B374D848' → its byte position; None for anything else (a client's header)."""
    if not text or len(text) > 17 or not _LSN_TEXT.fullmatch(text):
        return None
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def format_lsn(pos: int) -> str:
    return f"{pos >> 32:X}/{pos & 0xFFFFFFFF:X}"


def server_label(dsn: str) -> str:
    """`host:port/dbname` of a DSN: what an operator needs, nothing secret (no user,
    password or options)."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparsable)"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = info.get("port") or ""
    return f"{host}:{port if port.strip(',') else 5432}/{info.get('dbname') or ''}"


@dataclass
class Replica:
    """What the poller last saw of one replica."""

    dsn: str
    up: bool = False  # reachable, in recovery, replaying
    replay_lsn: int = -1
    lag_s: float = math.inf
    checked: float = 0.0
    conn: Any = field(default=None, repr=False)
    promoted: bool = False  # reachable but no longer in recovery

    def describe(self, max_lag_s: float = math.inf) -> dict[str, Any]:
        """Its state for /healthz: up, lag, and whether reads use it (else why skipped)."""
        lag = None if math.isinf(self.lag_s) else round(self.lag_s, 3)
        out: dict[str, Any] = {
            "server": server_label(self.dsn),
            "up": self.up,
            "lag_s": lag,
            "replay_lsn": format_lsn(max(self.replay_lsn, 0)),
            "state": "in_use",
        }
        if not self.checked and not self.up:
            reason = "not polled yet"
        elif self.promoted:
            reason = "promoted"
        elif not self.up:
            reason = "down"
        elif self.lag_s > max_lag_s:
            reason = "lagging"
        else:
            return out
        out.update(state="skipped", reason=reason)
        return out


class ReplicaSet:
    """The replicas of one primary, their state refreshed once a second by `start`'s thread."""

    def __init__(self, primary_dsn: str, replica_dsns: list[str], max_lag_s: float):
        self.primary_dsn = primary_dsn
        self.max_lag_s = max_lag_s
        self.replicas = [Replica(dsn) for dsn in replica_dsns]
        self._samples: deque[tuple[float, int]] = deque(maxlen=_SAMPLES)
        self._primary_conn: Any = None
        self._primary_up = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next = 0  # round robin among eligible replicas

    # -- polling -------------------------------------------------------------------
    def start(self) -> None:
        if self.replicas and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="onemap-replicas", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for conn in [self._primary_conn, *(r.conn for r in self.replicas)]:
            if conn is not None:
                conn.close()
        self._primary_conn = None
        for r in self.replicas:
            r.conn = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(POLL_INTERVAL_S)

    @staticmethod
    def _query(conn: Any, dsn: str, statement: str) -> tuple[Any, tuple[Any, ...]]:
        """(connection, row): the kept autocommit connection, remade after a failure."""
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(
                dsn,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="onemap-replicas",
            )
        row = conn.execute(statement).fetchone()
        return conn, row

    def poll(self) -> None:
        """One round: a primary WAL sample, then each replica's replay position and lag."""
        now = time.monotonic()
        try:
            self._primary_conn, (pos,) = self._query(
                self._primary_conn, self.primary_dsn, _PRIMARY_SQL
            )
            self._primary_up = pos is not None
            if pos is not None:
                self._samples.append((now, int(pos)))
        except psycopg.Error:
            self._primary_conn, self._primary_up = None, False
        for r in self.replicas:
            try:
                r.conn, (in_recovery, replay) = self._query(r.conn, r.dsn, _REPLICA_SQL)
            except psycopg.Error as exc:
                if r.up:
                    LOGGER.warning("replica down: %s", str(exc).strip().splitlines()[:1])
                r.conn, r.up, r.lag_s, r.promoted = None, False, math.inf, False
                r.checked = now
                continue
            # a promoted replica is a primary now (the primary URL's hosts reach it)
            r.up = bool(in_recovery) and replay is not None
            r.promoted = not in_recovery
            r.replay_lsn = int(replay) if replay is not None else -1
            r.lag_s = self._lag(r.replay_lsn, now)
            r.checked = now

    def _lag(self, replay: int, now: float) -> float:
        """Seconds since the newest primary sample the replica has replayed."""
        if not self._primary_up and self._samples:
            now = self._samples[-1][0]  # the primary is gone: its last position is the newest
        for t, pos in reversed(self._samples):
            if pos <= replay:
                return max(0.0, now - t)
        return math.inf

    # -- choosing ----------------------------------------------------------------------
    def mark_down(self, dsn: str) -> None:
        """A pool could not reach `dsn`: skip it until the poller reaches it again."""
        for r in self.replicas:
            if r.dsn == dsn:
                r.up, r.lag_s = False, math.inf

    def choose(self, min_lsn: int = 0) -> str | None:
        """A replica fresh enough for a client whose last write was at `min_lsn`, or None."""
        fresh = [
            r
            for r in self.replicas
            if r.up and r.lag_s <= self.max_lag_s and r.replay_lsn >= min_lsn
        ]
        if not fresh:
            return None
        self._next = (self._next + 1) % len(fresh)
        return fresh[self._next].dsn

    def describe(self) -> list[dict[str, Any]]:
        """Each replica's state as /healthz shows it."""
        return [r.describe(self.max_lag_s) for r in self.replicas]


# -- the request's decision, read by the pools ----------------------------------------
_read_target: ContextVar[tuple[str, str] | None] = ContextVar("onemap_read_target", default=None)
_sets: dict[str, ReplicaSet] = {}


def register(replica_set: ReplicaSet) -> None:
    _sets[replica_set.primary_dsn] = replica_set


def unregister(replica_set: ReplicaSet) -> None:
    if _sets.get(replica_set.primary_dsn) is replica_set:
        del _sets[replica_set.primary_dsn]


def read_dsn(primary_dsn: str) -> str:
    """Where a read-only statement of this request goes: its replica, or the primary."""
    target = _read_target.get()
    if target is not None and target[0] == primary_dsn:
        return target[1]
    return primary_dsn


def mark_down(primary_dsn: str, replica_dsn: str) -> None:
    replica_set = _sets.get(primary_dsn)
    if replica_set is not None:
        replica_set.mark_down(replica_dsn)


def _client_lsn(scope: dict[str, Any]) -> int:
    """The newest write position the client told us about (header or cookie), 0 if none."""
    best = 0
    for name, value in scope.get("headers", ()):
        if name == b"x-onemap-lsn":
            best = max(best, parse_lsn(value.decode("latin-1").strip()) or 0)
        elif name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is ignored
                continue
            if COOKIE in jar:
                best = max(best, parse_lsn(jar[COOKIE].value) or 0)
    return best


LsnReader = Callable[[], Awaitable[str | None]]


class ReplicaRouting:
    """Decides the request's read target; after a write, hands the client its LSN."""

    def __init__(self, app: Any, replicas: ReplicaSet, lsn_reader: LsnReader):
        self.app = app
        self.replicas = replicas
        self.lsn_reader = lsn_reader
        # a replica lagging more than max_lag is skipped, so an older write is on every
        # replica that is used: the cookie need not outlive that (plus the poll period)
        self.cookie_age = math.ceil(replicas.max_lag_s + 2 * POLL_INTERVAL_S) + 1

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.replicas.replicas:
            await self.app(scope, receive, send)
            return
        if scope["method"] in SAFE_METHODS:
            choice = self.replicas.choose(_client_lsn(scope))
            token = _read_target.set(
                None if choice is None else (self.replicas.primary_dsn, choice)
            )
            try:
                await self.app(scope, receive, self._with_read(send, choice is not None))
            finally:
                _read_target.reset(token)
            return
        token = _read_target.set(None)
        try:
            await self.app(scope, receive, self._with_lsn(send))
        finally:
            _read_target.reset(token)

    @staticmethod
    def _with_read(send: Any, replica: bool) -> Any:
        """`X-Onemap-Read: replica|primary`: where this GET was sent (operators, tests)."""
        value = b"replica" if replica else b"primary"

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-onemap-read", value)]
                message = {**message, "headers": headers}
            await send(message)

        return sending

    def _with_lsn(self, send: Any) -> Any:
        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message.get("status", 500) < 500:
                lsn = await self._lsn()
                if lsn:
                    headers = list(message.get("headers", []))
                    headers.append((b"x-onemap-lsn", lsn.encode()))
                    cookie = (
                        f"{COOKIE}={lsn}; Path=/; Max-Age={self.cookie_age}; HttpOnly; SameSite=Lax"
                    )
                    headers.append((b"set-cookie", cookie.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        return sending

    async def _lsn(self) -> str | None:
        try:
            return await self.lsn_reader()
        except (psycopg.Error, OSError) as exc:  # no LSN: the client reads the primary anyway
            LOGGER.warning("commit LSN unavailable: %s", exc)
            return None


async def primary_lsn(connection: Callable[[], Any]) -> str | None:
    """pg_current_wal_lsn() on a primary connection (`AsyncDB.primary_connection`)."""
    async with connection() as conn:
        cur = await conn.execute(_LSN_SQL)
        row = await cur.fetchone()
    return row[0] if row else None
