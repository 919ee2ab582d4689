"""The JT/T 808 listener on the test PostGIS: simulated terminals (jt808_sim) over TCP,
fixes stored and vehicles moved, 0x0704 batches, answers only after commit (the sink's
connection killed mid-run), unknown terminals refused, registrations kept over a restart."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools

import psycopg
from click.testing import CliRunner

from etl.feed import jt808_codec as c
from etl.feed.jt808_db import SINK_APP
from etl.feed.jt808_frame import V2019
from etl.feed.jt808_run import start_on_database
from etl.feed.jt808_session import Jt808Settings
from etl.feed.jt808_sim import Terminal, location
from gis_server.cli.main import cli
from tests.feed.conftest import DAY
from tests.feed.test_jt808_support import run

LAT, LON = 31.95, 121.3
_PHONES = itertools.count(1)


def phone() -> str:
    return f"1770{next(_PHONES):04d}{id(phone) % 9973:04d}"


def at(minute: float) -> dt.datetime:
    return DAY + dt.timedelta(minutes=minute)


def fix(minute: float, step: float = 0.0005, t0: float = 0.0):
    return location(LAT, LON + step * minute, t=at(t0 + minute), speed=20.0, heading=90)


def stored(dsn: str, code: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT fix_time, round(ST_X(geom)::numeric, 6)::float8 FROM vehicle_positions"
            " WHERE vehicle_code = %s ORDER BY fix_time",
            (code,),
        ).fetchall()


def vehicle_at(dsn: str, code: str) -> tuple:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT last_fix_at, round(ST_X(geom)::numeric, 6)::float8 FROM vehicles"
            " WHERE code = %s",
            (code,),
        ).fetchone()


@contextlib.asynccontextmanager
async def listening(dsn: str, **settings):
    server, db = await start_on_database(dsn, "127.0.0.1", 0, Jt808Settings(**settings))
    try:
        yield server, db
    finally:
        await server.close()
        await asyncio.to_thread(db.close)


async def terminal(server, number: str, version=V2019) -> Terminal:
    t = Terminal(number, version)
    await t.connect("127.0.0.1", server.port)
    return t


def test_registered_by_plate_reports_and_batches_land_in_postgis(demo_db, new_vehicle):
    code, plate = new_vehicle()
    number = phone()

    async def go():
        async with listening(demo_db) as (server, db):
            t = await terminal(server, number)
            await t.sign_in(plate)
            assert (await t.report(fix(0))).result == c.OK
            batch = await t.report_batch([fix(m) for m in (1, 2, 3)])
            assert batch.result == c.OK and batch.reply_id == c.BATCH_LOCATION
            await t.close()

    run(go())
    assert stored(demo_db, code) == [(at(m), round(LON + 0.0005 * m, 6)) for m in range(4)]
    assert vehicle_at(demo_db, code) == (at(3), round(LON + 0.0015, 6))
    with psycopg.connect(demo_db) as conn:
        row = conn.execute(
            "SELECT vehicle_code, plate, auth_code IS NOT NULL, last_seen_at IS NOT NULL"
            " FROM jt808_terminals WHERE phone = %s",
            (number,),
        ).fetchone()
    assert row == (code, plate, True, True)


def test_unknown_terminal_refused(demo_db):
    async def go():
        async with listening(demo_db) as (server, _db):
            t = await terminal(server, phone())
            reply = await t.register("苏Z·NOBODY")
            assert reply.result == c.REG_NO_TERMINAL
            assert (await t.report(fix(0))).result == c.FAIL  # never authenticated
            await t.close()

    run(go())


def test_explicit_mapping_and_registration_kept_over_a_restart(demo_db, new_vehicle):
    code, _ = new_vehicle()
    number = phone()
    runner = CliRunner()
    added = runner.invoke(cli, ["feed", "terminals", "add", "0" + number, code])
    assert added.exit_code == 0, added.output  # as headers give it: no leading zeros
    assert f"mapped terminal {number} → {code}" in added.output
    missing = runner.invoke(cli, ["feed", "terminals", "add", phone(), "NO-SUCH-CAR"])
    assert missing.exit_code != 0 and "NO-SUCH-CAR" in missing.output

    async def go():
        async with listening(demo_db) as (server, db):
            t = await terminal(server, number)
            auth = await t.sign_in("不是这个车牌")  # the mapping wins over the plate
            assert (await t.report(fix(0))).result == c.OK
            await t.close()
            server.shared.registered.flush()
        async with listening(demo_db) as (server, db):  # a restarted listener
            t = await terminal(server, number)
            assert (await t.authenticate(auth)).result == c.OK
            assert (await t.report(fix(1))).result == c.OK
            await t.close()

    run(go())
    assert [x for x, _ in stored(demo_db, code)] == [at(0), at(1)]
    listed = runner.invoke(cli, ["feed", "terminals", "list"])
    line = next(x for x in listed.output.splitlines() if x.startswith(number))
    assert f"{number}\t{code}\t不是这个车牌\t" in line


async def _report_until_ok(t: Terminal, loc) -> int:
    """Send a report until it is answered OK (as a terminal does); the fails seen."""
    fails = 0
    while (await t.report(loc)).result != c.OK:
        fails += 1
    return fails


def test_answer_only_after_commit_connection_killed_mid_run(demo_db, new_vehicle):
    code, plate = new_vehicle()
    acked: list[dt.datetime] = []

    async def go():
        async with (
            listening(demo_db) as (server, db),
            await psycopg.AsyncConnection.connect(demo_db, autocommit=True) as admin,
        ):
            t = await terminal(server, phone())
            await t.sign_in(plate)
            fails = 0
            for m in range(40):
                if m in (10, 25):
                    killed = await admin.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = %s AND datname = current_database()",
                        (SINK_APP,),
                    )
                    assert (await killed.fetchone())[0] == 1
                fails += await _report_until_ok(t, fix(m))
                acked.append(at(m))
            # a terminal that missed the answer sends again: stored once
            assert (await t.report_batch([fix(m) for m in range(5)])).result == c.OK
            await t.close()
            assert fails >= 2 and db.failures >= 2  # each kill cost one answered "fail"

    run(go())
    times = [x for x, _ in stored(demo_db, code)]
    assert times == acked and len(set(times)) == 40
    assert vehicle_at(demo_db, code)[0] == at(39)
