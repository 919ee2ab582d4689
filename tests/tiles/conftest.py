"""Tile tests use the OGC fixtures: the app on the demo database and the SQL helper."""

from tests.ogc.conftest import client, ogc_settings, sql  # noqa: F401
