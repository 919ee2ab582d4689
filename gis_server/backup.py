"""`onemap backup` / `onemap restore`: the database, the config and the media in one file.

A backup is a tar holding `database.dump` (pg_dump custom format: compressed,
restorable table by table), `manifest.json` (when, onemap and schema version,
rows per table), `config.yml` and `media/` (raster COGs, photos). Restore goes
into an empty database in one transaction (`pg_restore --single-transaction`),
so a failed restore leaves nothing half-loaded, then checks every table's row
count against the manifest.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from gis_server.cluster import Cluster

DUMP = "database.dump"
MANIFEST = "manifest.json"
CONFIG = "config.yml"
MEDIA = "media"

_TABLE_COUNTS = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND c.relname <> 'spatial_ref_sys'
 ORDER BY c.relname
"""


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why."""


@dataclass
class Manifest:
    created_at: str
    onemap_version: str
    schema_revision: str | None
    tables: dict[str, int]
    media: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=2)


def _tool(name: str) -> str:
    """pg_dump / pg_restore of the newest local PostgreSQL (the one the cluster uses)."""
    try:
        return str(Cluster.bin_dir() / name)
    except Exception:  # no server installed: the client package's wrapper may still be there
        found = shutil.which(name)
        if not found:
            raise BackupError(
                f"未找到 {name} — {name} not found: apt-get install postgresql-client"
            ) from None
        return found


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} 失败 — failed: {done.stderr.strip()[-2000:]}")


def table_counts(dsn: str) -> dict[str, int]:
    """Rows of every onemap table (partitioned tables counted as a whole)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(_TABLE_COUNTS)
        names = [r[0] for r in cur.fetchall()]
        counts = {}
        for name in names:
            cur.execute(f'SELECT count(*) FROM "{name}"')
            counts[name] = cur.fetchone()[0]
    conn.close()
    return counts


def _revision(dsn: str) -> str | None:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not cur.fetchone()[0]:
            return None
        cur.execute("SELECT version_num FROM alembic_version")
        row = cur.fetchone()
    conn.close()
    return row[0] if row else None


def backup(dsn: str, out: Path, config: Path | None, media: dict[str, Path]) -> Manifest:
    """Write the backup tar to `out` (atomically: a temp file renamed at the end)."""
    manifest = Manifest(
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        onemap_version=version("onemap"),
        schema_revision=_revision(dsn),
        tables=table_counts(dsn),
    )
    with tempfile.TemporaryDirectory(prefix="onemap-backup-") as tmp:
        dump = Path(tmp) / DUMP
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", dsn])
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(dump, DUMP)
            if config is not None and config.is_file():
                tar.add(config, CONFIG)
            for name, folder in media.items():
                if folder.is_dir():
                    tar.add(folder, f"{MEDIA}/{name}")
                    manifest.media.append(name)
            info = tarfile.TarInfo(MANIFEST)
            data = manifest.to_json().encode()
            info.size = len(data)
            info.mtime = int(dt.datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
        partial.replace(out)
    return manifest


def ensure_database(dsn: str) -> bool:
    """Create the database `dsn` names when it does not exist yet; True if created."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    if not name:
        raise BackupError("数据库地址缺少库名 — the database URL names no database")
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone():
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        admin.close()


def _is_empty(dsn: str) -> bool:
    return not table_counts(dsn)


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    for member in tar.getmembers():
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"备份文件含不安全条目 — unsafe entry in the backup: {member.name}")
    return tar.getmembers()


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive) as tar:
            data = tar.extractfile(MANIFEST)
            if data is None:
                raise KeyError(MANIFEST)
            return Manifest(**json.loads(data.read()))
    except (tarfile.TarError, KeyError, ValueError, TypeError) as exc:
        raise BackupError(f"不是 onemap 备份文件 — not an onemap backup: {exc}") from exc


def restore(archive: Path, dsn: str, media: dict[str, Path], config_out: Path | None) -> Manifest:
    """Restore into the empty database `dsn`; media folders and the config are put back too.

    Refuses a database that already holds tables (a restore never overwrites data)."""
    manifest = read_manifest(archive)
    if not _is_empty(dsn):
        raise BackupError(
            "目标数据库不为空 — the target database already holds tables; restore into a new "
            "database (createdb …) or drop it first"
        )
    with tempfile.TemporaryDirectory(prefix="onemap-restore-") as tmp, tarfile.open(archive) as tar:
        tar.extractall(tmp, members=_safe_members(tar), filter="data")
        _run(
            [
                _tool("pg_restore"),
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                f"--dbname={dsn}",
                str(Path(tmp) / DUMP),
            ]
        )
        for name in manifest.media:
            if name in media:
                shutil.copytree(Path(tmp) / MEDIA / name, media[name], dirs_exist_ok=True)
        if config_out is not None and (Path(tmp) / CONFIG).is_file():
            shutil.copyfile(Path(tmp) / CONFIG, config_out)
    return manifest


def compare(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """Each table whose row count differs from the manifest (empty: all match)."""
    names = sorted(set(expected) | set(actual))
    return [
        f"{n}: {expected.get(n, 'absent')} → {actual.get(n, 'absent')}"
        for n in names
        if expected.get(n) != actual.get(n)
    ]
