"""Test data of the fleet replay (no tests here): a vehicle's fixes in a window far
from the demo's days, through the feed's own `ingest`, and an event created in it."""

from __future__ import annotations

import datetime as dt
import secrets

import psycopg

from etl.feed.fix import Fix
from etl.feed.ingest import ingest

LON, LAT = 121.30, 31.95
STEP_S = 120  # one fix every 2 minutes (closer than feed.offline_after_s: interpolated)
DLON = 0.002  # eastwards by this much per fix (~190 m: 5.7 km/h)


def seed_vehicle(dsn: str, start: dt.datetime, fixes: int = 7, kind: str = "sanitation") -> str:
    """A new vehicle with `fixes` fixes from `start`, every STEP_S s, DLON further east each;
    its latest position is cleared again so the live layers are not touched."""
    code = f"TRPL{secrets.token_hex(4)}"
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO vehicles (code, plate, kind) VALUES (%s, %s, %s)",
            (code, f"苏R·{code[-6:]}", kind),
        )
        conn.commit()
        batch = [
            Fix(code, start + dt.timedelta(seconds=STEP_S * i), LON + DLON * i, LAT, 20.0, 90.0)
            for i in range(fixes)
        ]
        assert ingest(conn, batch).stored == fixes
        conn.execute(
            "UPDATE vehicles SET last_fix_at = NULL, geom = NULL, speed_kmh = NULL,"
            " heading = NULL WHERE code = %s",
            (code,),
        )
        conn.commit()
    return code


def seed_event(dsn: str, at: dt.datetime, lon: float = LON, lat: float = LAT + 0.01) -> str:
    code = f"TRPL-E{secrets.token_hex(4)}"
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO events (code, title, source, category, status, created_at, closed_at, geom)"
            " VALUES (%s, '回放测试事件', 'grid_worker', 'test', 'closed', %s, %s,"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (code, at, at + dt.timedelta(hours=1), lon, lat),
        )
    return code
