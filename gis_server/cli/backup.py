"""`onemap backup [-o FILE]` and `onemap restore FILE [--database-url URL]`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import psycopg2

from gis_server import backup as bk
from gis_server.cli.options import fail, load_or_exit
from gis_server.settings import PROJECT_DIR, Settings, config_path


def _media(settings: Settings) -> dict[str, Path]:
    """The folders a backup carries besides the database (name in the archive → folder)."""
    return {"rasters": settings.imports.raster_path, "photos": settings.dispatch.photo_path}


@click.command("backup")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="备份文件 — the backup file (default var/backups/onemap-<time>.tar)",
)
def backup_cmd(output: Path | None) -> None:
    """备份数据库、配置与媒体文件 Back up the database, config.yml and media in one file."""
    settings = load_or_exit()
    if output is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        output = PROJECT_DIR / "var" / "backups" / f"onemap-{stamp}.tar"
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        manifest = bk.backup(settings.database.dsn, output, config_path(), _media(settings))
    except (bk.BackupError, psycopg2.Error) as exc:
        fail(f"备份失败 — backup failed: {exc}", code=1)
    rows = sum(manifest.tables.values())
    click.echo(
        f"已备份 — backed up {len(manifest.tables)} tables, {rows:,} rows, "
        f"schema {manifest.schema_revision} → {output}"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--database-url",
    default=None,
    help="恢复到的空数据库 — an empty (or not yet existing) database; default: config's",
)
@click.option(
    "--config-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="把备份中的 config.yml 写到此处 — write the backed-up config.yml here",
)
def restore_cmd(archive: Path, database_url: str | None, config_out: Path | None) -> None:
    """恢复备份到空数据库并逐表核对 Restore into an empty database and check every table."""
    settings = load_or_exit()
    dsn = database_url or settings.database.dsn
    try:
        bk.ensure_database(dsn)
        manifest = bk.restore(archive, dsn, _media(settings), config_out)
        mismatches = bk.compare(manifest.tables, bk.table_counts(dsn))
    except (bk.BackupError, psycopg2.Error) as exc:
        fail(f"恢复失败 — restore failed: {exc}", code=1)
    if mismatches:
        fail("恢复后行数不符 — row counts differ after restore: " + "; ".join(mismatches), code=1)
    click.echo(
        f"已恢复 — restored {len(manifest.tables)} tables from {manifest.created_at} "
        f"(schema {manifest.schema_revision}); every table's rows match the backup"
    )
