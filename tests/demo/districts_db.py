"""A second test database holding a three-district demo (Haimen, 启东, 通州), for the tests of
`--districts` and of the console opened for one district. Import `districts_db` into a test
module to use it; it is created once per session and dropped after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import migrated_database

DISTRICTS = 3
SCALE = 0.02  # cameras, vehicles, events per district: small, the grids are never scaled
ANCHOR = dt.date(2026, 6, 10)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def districts_db(server_dsn: str) -> Iterator[str]:
    """DSN of a migrated database with the three-district demo loaded."""
    from etl.demo import load_demo

    with migrated_database(server_dsn, "onemap_test", district_code="320614") as dsn:
        until = dt.datetime.combine(ANCHOR, dt.time(), SHANGHAI)
        load_demo(dsn, scale=SCALE, anchor=ANCHOR, until=until, districts=DISTRICTS)
        yield dsn
