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
def new_vehicle(demo_db: str):
    """Make a vehicle of its own for a test: returns (code, plate). The demo is loaded
    first (it loads only into empty layers, so a test vehicle must not come before it)."""
    db_dsn = demo_db

    def make(kind: str = "sanitation") -> tuple[str, str]:
        n = next(_SERIAL)
        code, plate = f"TFEED{n:04d}{id(make) % 997:03d}", f"苏F·T{n:04d}{id(make) % 997:03d}"
        with psycopg.connect(db_dsn) as conn:
            conn.execute(
                "INSERT INTO vehicles (code, plate, kind) VALUES (%s, %s, %s)", (code, plate, kind)
            )
        return code, plate

    return make


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory) -> Iterator[str]:
    """The broker on 127.0.0.1:1883 when one answers, else a private Mosquitto."""
    from tests.feed.brokers import Mosquitto, answers

    if answers(1883):
        yield "mqtt://127.0.0.1:1883"
        return
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    try:
        yield broker.url
    finally:
        broker.stop()


@pytest.fixture()
def private_broker(tmp_path):
    from tests.feed.brokers import Mosquitto

    broker = Mosquitto(tmp_path / "mosquitto").start()
    try:
        yield broker
    finally:
        broker.stop()
