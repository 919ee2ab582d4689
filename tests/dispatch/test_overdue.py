"""Overdue detection: marked once as time passes, by the server's sweeper without anyone looking."""

from __future__ import annotations

import select

import psycopg2
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.settings import get_settings
from layers.dispatch import overdue
from tests.dispatch.conftest import run_sql
from tests.dispatch.test_lifecycle import new_event


def test_sweep_marks_each_late_event_once(world, db) -> None:
    import tests.dispatch.test_lifecycle as lc
    from tests.dispatch.conftest import lonlat

    lc.PLACE = lonlat(world, 50, 50)
    with db.cursor() as cur:
        late, fine = new_event(cur), new_event(cur)
        cur.execute(
            "UPDATE events SET due_at = now() - interval '1 minute' WHERE code = %s", (late,)
        )
        assert late in overdue.sweep(cur) and fine not in overdue.sweep(cur)
        assert late not in overdue.sweep(cur)  # once
        cur.execute(
            "SELECT action, actor FROM event_actions WHERE event_code = %s AND action = 'overdue'",
            (late,),
        )
        assert cur.fetchall() == [("overdue", "system:clock")]
        cur.execute("SELECT overdue_at IS NOT NULL, version FROM events WHERE code = %s", (late,))
        assert cur.fetchone() == (True, 1)


def test_the_server_marks_late_events_as_time_passes(world) -> None:
    """Nobody requests anything: the lifespan's sweeper marks the event and announces it."""
    import tests.dispatch.test_lifecycle as lc
    from tests.dispatch.conftest import lonlat

    lc.PLACE = lonlat(world, 50, 50)
    conn = psycopg2.connect(world)
    with conn.cursor() as cur:
        code = new_event(cur)
        cur.execute(
            "UPDATE events SET due_at = now() - interval '1 minute' WHERE code = %s", (code,)
        )
    conn.commit()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("LISTEN onemap_live")
    base = get_settings()
    settings = base.model_copy(
        update={"dispatch": base.dispatch.model_copy(update={"overdue_sweep_s": 0.2})}
    )
    heard = False
    with TestClient(create_app(settings)):
        while not heard and select.select([conn], [], [], 30) != ([], [], []):
            conn.poll()
            heard = any(code in n.payload for n in conn.notifies)
    conn.close()
    assert heard
    assert run_sql(world, "SELECT count(*) FROM event_actions WHERE event_code = %s AND action = 'overdue'",
                   (code,)) == [(1,)]  # fmt: skip
