"""Fixtures of the live feed tests: psycopg 3 connections and vehicles of their own."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import psycopg
import pytest

_SERIAL = itertools.count(1)
DAY = dt.datetime(2031, 5, 6, 9, 0, tzinfo=dt.UTC)  # a day no demo data touches


@pytest.fixture()
def pg3(db_dsn: str) -> Iterator[psycopg.Connection]:
    conn = psycopg.connect(db_dsn)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture()
def new_vehicle(db_dsn: str):
    """Make a vehicle of its own for a test: returns (code, plate)."""

    def make(kind: str = "sanitation") -> tuple[str, str]:
        n = next(_SERIAL)
        code, plate = f"TFEED{n:04d}{id(make) % 997:03d}", f"苏F·T{n:04d}{id(make) % 997:03d}"
        with psycopg.connect(db_dsn) as conn:
            conn.execute(
                "INSERT INTO vehicles (code, plate, kind) VALUES (%s, %s, %s)", (code, plate, kind)
            )
        return code, plate

    return make
