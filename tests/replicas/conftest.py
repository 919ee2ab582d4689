"""A real PostgreSQL 15 primary and its streaming replica (pg_basebackup -R) under a
temporary directory, run as the postgres user like the private cluster; migrated,
without the demo (the tests write what they read). Skipped with the reason when this
machine cannot run them (no PostgreSQL server binaries, no postgres user as root)."""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import psycopg2
import pytest

from gis_server.auth import Role, store
from gis_server.cluster import Cluster, ClusterError
from gis_server.settings import ClusterSettings
from layers.migrate import upgrade

SMALL = {"shared_buffers": "64MB", "max_connections": "60", "work_mem": "8MB"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Pair:
    root: Path
    primary: Cluster
    replica: Cluster

    def dsn(self, node: Cluster) -> str:
        return f"postgresql://postgres@127.0.0.1:{node.settings.port}/onemap"

    @property
    def primary_dsn(self) -> str:
        return self.dsn(self.primary)

    @property
    def replica_dsn(self) -> str:
        return self.dsn(self.replica)

    @property
    def both_dsn(self) -> str:
        """libpq multi-host: whichever of the two accepts writes."""
        p, r = self.primary.settings.port, self.replica.settings.port
        return (
            f"postgresql://postgres@127.0.0.1:{p},127.0.0.1:{r}/onemap"
            "?target_session_attrs=read-write&connect_timeout=2"
        )

    def replica_sql(self, statement: str) -> None:
        with psycopg.connect(self.replica_dsn, autocommit=True) as conn:
            conn.execute(statement)


def _node(root: Path, name: str) -> Cluster:
    settings = ClusterSettings(dir=root / name, port=free_port(), name="onemap")
    return Cluster(settings, options=SMALL)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    try:
        Cluster.bin_dir()
    except ClusterError as exc:
        pytest.skip(f"no PostgreSQL server binaries: {exc}")
    root = Path(tempfile.mkdtemp(prefix="onemap-pair-", dir="/tmp"))
    primary, replica = _node(root, "primary"), _node(root, "replica")
    try:
        try:
            primary.up()  # initdb, start, CREATE DATABASE onemap + postgis
        except ClusterError as exc:
            pytest.skip(f"cannot run a private PostgreSQL here: {exc}")
        upgrade(f"postgresql+psycopg2://postgres@127.0.0.1:{primary.settings.port}/onemap")
        replica.init_replica(primary.settings.port)
        replica.start()
        yield Pair(root, primary, replica)
    finally:
        for node in (replica, primary):
            try:
                node.stop()
            except ClusterError:
                pass
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def editor_key(pair: Pair) -> str:
    """An API key of a gis_editor on the pair's primary."""
    name = f"rep-{secrets.token_hex(3)}"
    with psycopg2.connect(pair.primary_dsn) as conn:
        store.add_user(conn, name, Role.GIS_EDITOR, "correct horse battery")
        _, key, _ = store.issue_key(conn, name, "test")
    conn.close()
    return key
