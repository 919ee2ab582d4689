"""`onemap db up|down|status|migrate|check`: the private cluster and the schema."""

from __future__ import annotations

import click

from gis_server.cli.options import fail, load_or_exit
from gis_server.cluster import Cluster, ClusterError
from gis_server.settings import Settings


def prepare_database(settings: Settings, migrate: bool = True) -> None:
    """Start the private cluster when there is no DATABASE_URL, then migrate."""
    from layers.migrate import upgrade  # alembic: 0.2 s to import, so not for every command

    if settings.database.uses_private_cluster:
        cluster = Cluster(settings.database.cluster)
        if cluster.up():
            click.echo(
                f"已创建私有 PostGIS 集群 — created the private PostGIS cluster in {cluster.data}"
            )
    if migrate:
        _migrate(settings, upgrade)


def _migrate(settings: Settings, upgrade) -> None:  # noqa: ANN001 - layers.migrate.upgrade
    """Migrate, turning an unreachable database into a message that says what to do."""
    from sqlalchemy.exc import OperationalError

    try:
        upgrade(settings.database.sqlalchemy_url, district_code=settings.district.code)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ClusterError(
            f"数据库不可达 — cannot reach the database {settings.database.dsn}: {reason}\n"
            "Check DATABASE_URL (the database must exist; onemap creates the PostGIS "
            "extension and the schema in it), or unset it to use the private cluster."
        ) from None


@click.group("db")
def db() -> None:
    """数据库 — the database: private cluster and migrations."""


@db.command("up")
def db_up() -> None:
    """Start the private PostGIS cluster (if no DATABASE_URL) and migrate the schema."""
    settings = load_or_exit()
    try:
        prepare_database(settings)
    except ClusterError as exc:
        fail(str(exc))
    click.echo(f"数据库就绪 — database ready: {settings.database.dsn}")


@db.command("down")
def db_down() -> None:
    """Stop the private PostGIS cluster."""
    settings = load_or_exit()
    if not settings.database.uses_private_cluster:
        fail("DATABASE_URL is set: onemap does not manage that server.")
    try:
        Cluster(settings.database.cluster).stop()
    except ClusterError as exc:
        fail(str(exc))
    click.echo("私有集群已停止 — private cluster stopped")


@db.command("status")
def db_status() -> None:
    """Say where the database is, whether it answers and whether migrations are current."""
    from layers.migrate import current_revision, head_revision

    settings = load_or_exit()
    click.echo(f"database: {settings.database.dsn}")
    if settings.database.uses_private_cluster:
        cluster = Cluster(settings.database.cluster)
        state = (
            "running"
            if cluster.is_running()
            else ("stopped" if cluster.is_initialised() else "not created")
        )
        click.echo(
            f"private cluster: {cluster.data} ({state}, port {settings.database.cluster.port})"
        )
    try:
        current = current_revision(settings.database.sqlalchemy_url)
    except Exception as exc:  # noqa: BLE001 - report any connection failure to the user
        fail(f"数据库不可达 — database unreachable: {str(exc).strip().splitlines()[0]}")
        return
    head = head_revision()
    state = "current" if current == head else "behind: run `onemap db migrate`"
    click.echo(f"migrations: {current or 'none'} (head {head}, {state})")


@db.command("migrate")
def db_migrate() -> None:
    """Apply the schema migrations up to the newest."""
    from layers.migrate import head_revision, upgrade

    settings = load_or_exit()
    try:
        _migrate(settings, upgrade)
    except ClusterError as exc:
        fail(str(exc))
    click.echo(f"迁移完成 — migrated to {head_revision()}")


@db.command("check")
def db_check() -> None:
    """Compare the database's schema with layers/tables (what `alembic check` does); exit 1 on drift.

    A hand-made change to a production table, or a migration that no longer matches the
    declared tables, shows here before it breaks an import or a query.
    """
    from layers.migrate import schema_drift

    settings = load_or_exit()
    try:
        drift = schema_drift(settings.database.sqlalchemy_url)
    except Exception as exc:  # noqa: BLE001 - any connection failure: a clear message, exit 1
        fail(f"数据库不可达 — database unreachable: {str(exc).strip().splitlines()[0]}")
    if drift:
        for diff in drift:
            click.echo(f"  {diff}")
        fail(f"结构不一致 — the schema differs from layers/tables in {len(drift)} place(s)")
    click.echo("结构一致 — the schema matches layers/tables")
