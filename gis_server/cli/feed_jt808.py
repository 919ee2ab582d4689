"""`onemap feed jt808` (the JT/T 808 listener alone) and `onemap feed terminals …`
(which vehicle a terminal reports for)."""

from __future__ import annotations

import logging

import click

from gis_server.cli.db import prepare_database
from gis_server.cli.options import fail, load_or_exit
from gis_server.cluster import ClusterError
from gis_server.settings import PROJECT_DIR, Settings

JT808_STATUS_FILE = PROJECT_DIR / "var" / "jt808_status.json"  # the running listener's counters


def run_jt808(settings: Settings, derive: bool = True) -> None:
    """The listener on feed.jt808's host and port until interrupted (with a derive
    process for the tracks and trips behind it unless `derive` is False)."""
    from etl.feed.jt808_run import run_forever
    from gis_server.cli.feed import spawn_deriver, stop_deriver
    from gis_server.live.config import feed_rules, jt808_settings

    block = settings.feed.jt808
    click.echo(f"JT/T 808 listener: {block.host}:{block.port} (crs {block.crs})")
    deriver = spawn_deriver(settings) if derive else None
    try:
        run_forever(
            settings.database.dsn,
            block.host,
            block.port,
            jt808_settings(settings),
            feed_rules(settings),
            JT808_STATUS_FILE,
        )
    finally:
        stop_deriver(deriver)


@click.command("jt808")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Instead of feed.jt808.port."
)
def jt808_cmd(port: int | None) -> None:
    """JT/T 808 — serve vehicle terminals over TCP (feed.jt808 in config.yml) into PostGIS."""
    settings = load_or_exit()
    if port is not None:
        settings.feed.jt808.port = port
    try:
        prepare_database(settings)
    except ClusterError as exc:
        fail(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_jt808(settings)


@click.group("terminals")
def terminals_cmd() -> None:
    """车载终端 — JT/T 808 terminals (SIM phone number) and the vehicles they report for."""


def _cursor_work(settings: Settings, work):
    import psycopg

    with psycopg.connect(settings.database.dsn) as conn, conn.cursor() as cur:
        return work(cur)


@terminals_cmd.command("add")
@click.argument("phone")
@click.argument("vehicle")
def terminals_add(phone: str, vehicle: str) -> None:
    """Map terminal PHONE to vehicle code VEHICLE (its next registration needs no plate match)."""
    from layers import jt808_terminals as t

    if not phone.isdigit() or len(phone) > 20:
        fail(f"PHONE: 终端手机号只能是数字 — must be up to 20 digits, not {phone!r}")
    settings = load_or_exit()
    try:
        _cursor_work(settings, lambda cur: t.map_terminal(cur, phone, vehicle))
    except t.UnknownVehicle:
        fail(f"VEHICLE: 无此车辆 — no vehicle with code {vehicle!r}")
    click.echo(f"已绑定 mapped terminal {t.normal_phone(phone)} → {vehicle}")


@terminals_cmd.command("remove")
@click.argument("phone")
def terminals_remove(phone: str) -> None:
    """Forget terminal PHONE (it must register again, by plate)."""
    from layers import jt808_terminals as t

    if not _cursor_work(load_or_exit(), lambda cur: t.unmap_terminal(cur, phone)):
        fail(f"PHONE: 无此终端 — no terminal {phone!r}")
    click.echo(f"已删除 removed terminal {phone}")


@terminals_cmd.command("list")
def terminals_list() -> None:
    """Every terminal: phone, vehicle, plate registered, registered and last seen."""
    from layers import jt808_terminals as t

    rows = _cursor_work(load_or_exit(), t.terminals)
    click.echo("phone\tvehicle\tplate\tregistered_at\tlast_seen_at")
    for r in rows:
        at = r.registered_at.isoformat(timespec="seconds") if r.registered_at else "-"
        seen = r.last_seen_at.isoformat(timespec="seconds") if r.last_seen_at else "-"
        click.echo(f"{r.phone}\t{r.vehicle_code}\t{r.plate or '-'}\t{at}\t{seen}")
    click.echo(f"{len(rows)} terminals")
