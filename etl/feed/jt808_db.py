"""The JT/T 808 listener on PostGIS: its sink, its terminal lookup, its kept registrations.

- `sink(fixes)` (run in a thread by the listener's batcher, one call at a time)
  calls `ingest` on the listener's own psycopg 3 connection; it returns only
  once the batch is committed and raises on any database error (after dropping
  the connection: the next call opens a new one), so terminals are answered
  "fail" and send the report again; the (vehicle, fix_time) key stores a
  re-sent fix once.
- `lookup(phone, plate)` maps a terminal to a vehicle (`layers/jt808_terminals`)
  on a second, autocommit connection (lookups run while a batch is ingested);
  a database error raises, so the terminal is answered later, never "unknown".
- `registrations()` is the listener's `registered` mapping: the kept auth codes
  loaded at start, each new registration written to `jt808_terminals`.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Iterator, MutableMapping

import psycopg

from etl.feed.fix import Fix
from etl.feed.ingest import FeedRules, ingest
from etl.feed.jt808_session import Registered
from etl.feed.jt808_sink import Fix808
from layers import jt808_terminals as terminals

log = logging.getLogger(__name__)
SINK_APP = "onemap-jt808-sink"  # application_name of the ingesting connection
LOOKUP_APP = "onemap-jt808-lookup"


class Jt808Database:
    """The listener's two connections and what it asks of them."""

    def __init__(
        self,
        dsn: str,
        rules: FeedRules | None = None,
        connect: Callable[..., psycopg.Connection] = psycopg.connect,
    ):
        self.dsn = dsn
        self.rules = rules or FeedRules()
        self._connect = connect
        self._sink_conn: psycopg.Connection | None = None
        self._lookup_conn: psycopg.Connection | None = None
        self._lookup_lock = threading.Lock()
        self._vehicles: dict[str, str] = {}  # phone → vehicle of its latest lookup
        self.stored = 0
        self.failures = 0

    # --- the sink ----------------------------------------------------------------
    def sink(self, fixes: list[Fix808]) -> None:
        """Ingest and commit, or raise (nothing of this call is then acknowledged)."""
        batch = [Fix(f.vehicle, f.t, f.lon, f.lat, f.speed, f.heading, f.crs) for f in fixes]
        try:
            if self._sink_conn is None or self._sink_conn.closed:
                self._sink_conn = self._connect(self.dsn, application_name=SINK_APP)
            result = ingest(self._sink_conn, batch, self.rules)
        except Exception:
            self.failures += 1
            self._drop_sink_conn()
            raise
        self.stored += result.stored
        self._mark_seen([f.phone for f in fixes])

    def _mark_seen(self, phones: list[str]) -> None:
        """last_seen_at of the terminals (the fixes are committed: a failure here is logged)."""
        try:
            with self._sink_conn.cursor() as cur:
                terminals.mark_seen(cur, phones, dt.datetime.now(dt.UTC))
            self._sink_conn.commit()
        except psycopg.Error as e:
            log.warning("jt808: last_seen_at not updated: %s", e)
            self._drop_sink_conn()

    def _drop_sink_conn(self) -> None:
        if self._sink_conn is not None:
            self._sink_conn.close()
        self._sink_conn = None

    # --- lookups and registrations -----------------------------------------------
    def _on_lookup_conn(self, work: Callable[[psycopg.Cursor], object]) -> object:
        with self._lookup_lock:
            try:
                if self._lookup_conn is None or self._lookup_conn.closed:
                    self._lookup_conn = self._connect(
                        self.dsn, autocommit=True, application_name=LOOKUP_APP
                    )
                with self._lookup_conn.cursor() as cur:
                    return work(cur)
            except psycopg.Error:
                if self._lookup_conn is not None:
                    self._lookup_conn.close()
                self._lookup_conn = None
                raise

    def lookup(self, phone: str, plate: str | None) -> str | None:
        """The vehicle code of a terminal (its mapping, else its plate), None if unknown."""
        vehicle = self._on_lookup_conn(lambda cur: terminals.vehicle_for(cur, phone, plate))
        if vehicle is not None:
            self._vehicles[phone] = vehicle
        return vehicle

    def remember(self, phone: str, registered: Registered | None) -> None:
        """Write a registration (or, None, a logout) to jt808_terminals; failures are logged
        (the listener keeps it in memory; after a restart the terminal registers again)."""
        vehicle = self._vehicles.get(phone)
        try:
            if registered is None:
                self._on_lookup_conn(lambda cur: terminals.forget_auth_code(cur, phone))
            elif vehicle is not None:
                at = dt.datetime.now(dt.UTC)
                self._on_lookup_conn(
                    lambda cur: terminals.remember_registration(
                        cur, phone, vehicle, registered.auth_code, registered.plate, at
                    )
                )
        except psycopg.Error as e:
            log.warning("jt808: registration of %s not kept: %s", phone, e)

    def registrations(self) -> Registrations:
        """The listener's `registered` mapping, loaded from the table."""
        kept = self._on_lookup_conn(terminals.registrations)
        return Registrations(
            {phone: Registered(code, plate) for phone, (code, plate) in kept.items()},
            self.remember,
        )

    def close(self) -> None:
        self._drop_sink_conn()
        with self._lookup_lock:
            if self._lookup_conn is not None:
                self._lookup_conn.close()
            self._lookup_conn = None


class Registrations(MutableMapping[str, Registered]):
    """A dict whose changes are also written through `write(phone, value or None)`, in order,
    by one worker thread (the session changes it on the event loop and must not block)."""

    def __init__(self, initial: dict[str, Registered], write: Callable[..., None]):
        self._data = dict(initial)
        self._write = write
        self._queue: queue.Queue[tuple[str, Registered | None]] = queue.Queue()
        self._writer: threading.Thread | None = None

    def _later(self, phone: str, value: Registered | None) -> None:
        self._queue.put((phone, value))
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._drain, name="jt808-registrations", daemon=True
            )
            self._writer.start()

    def _drain(self) -> None:
        while True:
            phone, value = self._queue.get()
            try:
                self._write(phone, value)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every change so far is written (tests, shutdown)."""
        self._queue.join()

    def __getitem__(self, phone: str) -> Registered:
        return self._data[phone]

    def __setitem__(self, phone: str, value: Registered) -> None:
        self._data[phone] = value
        self._later(phone, value)

    def __delitem__(self, phone: str) -> None:
        del self._data[phone]
        self._later(phone, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)
