"""`onemap backup` then `onemap restore` into a fresh database: every table the same."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from click.testing import CliRunner

from gis_server import backup as bk
from gis_server.cli.main import cli
from gis_server.settings import get_settings
from layers import audit_chain


def _use_raster_dir(monkeypatch, folder: Path) -> None:
    monkeypatch.setenv("ONEMAP_IMPORTS__RASTER_DIR", str(folder))
    get_settings.cache_clear()


def _fingerprints(dsn: str) -> dict[str, tuple[int, str | None]]:
    """Rows and an md5 of the sorted rows of every table."""
    out = {}
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for name in bk.table_counts(dsn):
            cur.execute(
                f"SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM \"{name}\" t"
            )
            out[name] = cur.fetchone()
    conn.close()
    return out


@pytest.fixture()
def fresh_dsn(server_dsn: str):
    name = f"onemap_restore_{secrets.token_hex(4)}"
    dsn = urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))
    yield dsn
    admin = psycopg2.connect(server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_backup_restore_round_trip(demo_db, fresh_dsn, tmp_path: Path, monkeypatch):
    rasters = tmp_path / "rasters"
    rasters.mkdir()
    (rasters / "dem.tif").write_bytes(b"not really a tiff, but bytes to carry")
    _use_raster_dir(monkeypatch, rasters)
    runner = CliRunner()
    archive = tmp_path / "b.tar"

    result = runner.invoke(cli, ["backup", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output

    restored_rasters = tmp_path / "restored"
    _use_raster_dir(monkeypatch, restored_rasters)
    result = runner.invoke(
        cli,
        [
            "restore",
            str(archive),
            "--database-url",
            fresh_dsn,
            "--config-out",
            str(tmp_path / "c.yml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "every table's rows match" in result.output

    before, after = _fingerprints(demo_db), _fingerprints(fresh_dsn)
    assert before.keys() == after.keys()
    # The change counters' slots are validators, not data: servers of other tests still
    # running against the shared demo (their overdue sweepers) bump them after the backup.
    assert [n for n in before if before[n] != after[n] and n != "layer_change_slots"] == []
    with psycopg2.connect(fresh_dsn) as conn, conn.cursor() as cur:
        assert audit_chain.verify(cur).intact  # the chain survives: triggers come after data
    conn.close()
    assert before["grids"][0] > 1000 and before["events"][0] > 1000
    assert (restored_rasters / "dem.tif").read_bytes() == (rasters / "dem.tif").read_bytes()
    assert (tmp_path / "c.yml").is_file()

    again = runner.invoke(cli, ["restore", str(archive), "--database-url", fresh_dsn])
    assert again.exit_code == 1
    assert "already holds tables" in again.output
    assert _fingerprints(fresh_dsn)["grids"] == after["grids"]
    monkeypatch.delenv("ONEMAP_IMPORTS__RASTER_DIR")
    get_settings.cache_clear()


def test_restore_refuses_a_file_that_is_not_a_backup(fresh_dsn, tmp_path: Path, db_dsn):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\0" * 4096)
    result = CliRunner().invoke(cli, ["restore", str(junk), "--database-url", fresh_dsn])
    assert result.exit_code == 1
    assert "not an onemap backup" in result.output
