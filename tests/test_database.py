"""The psycopg 3 pool of the synchronous request paths: one per database, connections kept,
uncommitted work rolled back, a dead database a DatabaseUnavailable (503)."""

from __future__ import annotations

import threading

import psycopg
import pytest

from gis_server import database
from gis_server.errors import DatabaseUnavailable


def _current(conn) -> tuple[str, int]:  # noqa: ANN001
    with conn.cursor() as cur:
        cur.execute("SELECT current_database(), pg_backend_pid()")
        return cur.fetchone()


def test_each_dsn_gets_its_own_pool(db_dsn, server_dsn):
    try:
        with database.pooled(db_dsn) as conn:
            first = _current(conn)
        with database.pooled(server_dsn) as conn:
            other = _current(conn)
        assert first[0] == db_dsn.rsplit("/", 1)[1]
        assert other[0] == "postgres"  # not the first pool's database
    finally:
        database.close_pool()


def test_connections_are_kept_between_requests(db_dsn):
    try:
        pids = set()
        for _ in range(5):
            with database.pooled(db_dsn, size=4) as conn:
                pids.add(_current(conn)[1])
        assert len(pids) == 1  # one connection, reused: no connect per request
    finally:
        database.close_pool()


def test_more_threads_than_connections_wait_their_turn(db_dsn):
    size, threads, errors, pids = 2, 8, [], set()
    lock = threading.Lock()

    def work() -> None:
        try:
            with database.pooled(db_dsn, size=size) as conn:
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid() FROM pg_sleep(0.05)")
                    with lock:
                        pids.add(cur.fetchone()[0])
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    try:
        runners = [threading.Thread(target=work) for _ in range(threads)]
        for t in runners:
            t.start()
        for t in runners:
            t.join(30)
        assert errors == []
        assert len(pids) <= size
    finally:
        database.close_pool()


def test_a_broken_connection_is_not_handed_out_again(db_dsn, server_dsn):
    import psycopg2

    try:
        with database.pooled(db_dsn) as conn:
            pid = _current(conn)[1]
        admin = psycopg2.connect(server_dsn)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
        admin.close()
        try:
            with database.pooled(db_dsn) as conn:
                _current(conn)
        except DatabaseUnavailable:
            pass  # the request that meets the dead connection fails (a 503) …
        with database.pooled(db_dsn) as conn:
            assert _current(conn)[1] != pid  # … and the next one gets a fresh one
    finally:
        database.close_pool()


def test_connections_are_psycopg3_and_uncommitted_work_is_rolled_back(db_dsn):
    try:
        with database.pooled(db_dsn) as conn:
            assert isinstance(conn, psycopg.Connection)
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE _pool_rollback_probe (x int)")
        with database.pooled(db_dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('_pool_rollback_probe')")
            assert cur.fetchone()[0] is None
    finally:
        database.close_pool()


def test_a_dead_database_is_database_unavailable(db_dsn):
    dead = "postgresql://postgres@127.0.0.1:1/nowhere"
    try:
        for _ in range(2):  # the first finds it down, the second probes before waiting
            with pytest.raises(DatabaseUnavailable):
                with database.pooled(dead) as conn:
                    _current(conn)
        with database.pooled(db_dsn) as conn:  # other databases' pools are unaffected
            assert _current(conn)[0] == db_dsn.rsplit("/", 1)[1]
    finally:
        database.close_pool()
