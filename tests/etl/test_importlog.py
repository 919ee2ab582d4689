"""A log row that cannot be written is reported in the server log, not silently dropped."""

from __future__ import annotations

import logging

from etl import importlog


def test_a_failed_log_write_is_logged(caplog) -> None:
    entry = importlog.LogEntry(who="test", layer="grids", status="failed", file_name="g.gpkg")
    with caplog.at_level(logging.ERROR, logger="etl.importlog"):
        assert importlog.write_alone("postgresql://postgres@127.0.0.1:1/nowhere", entry) is None
    assert any("g.gpkg" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)
