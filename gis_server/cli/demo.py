"""`onemap demo [--reload] [--scale F] [--districts N]`: load the deterministic demo dataset
(Haimen, and with --districts N its N-1 nearest neighbours)."""

from __future__ import annotations

import datetime as dt

import click

from gis_server.cli.db import prepare_database
from gis_server.cli.options import fail, load_or_exit
from gis_server.cluster import ClusterError


@click.command("demo")
@click.option("--reload", is_flag=True, help="Empty the layers and load again (清空后重新加载).")
@click.option(
    "--scale",
    type=click.FloatRange(min=0.001, max=10.0),
    default=1.0,
    show_default=True,
    help="Multiply cameras, vehicles (and fixes) and events; grids are never scaled.",
)
@click.option(
    "--districts",
    type=click.IntRange(min=1, max=8),
    default=1,
    show_default=True,
    help="Haimen plus its N-1 nearest neighbours (启东, 通州, 崇明, 崇川 …), each in Haimen's "
    "proportions per km² (多区县演示).",
)
def demo(reload: bool, scale: float, districts: int) -> None:
    """演示数据 — load the demo dataset (towns, grids, cameras, vehicles, zones, events)."""
    from etl.demo import load_demo

    settings = load_or_exit()
    try:
        prepare_database(settings)
    except ClusterError as exc:
        fail(str(exc))
    click.echo("演示数据 — demo dataset: checking the layers, loading if empty or --reload …")
    report = load_demo(
        settings.database.dsn,
        scale=scale,
        seed=settings.demo.seed,
        anchor=settings.demo.anchor_date,
        reload=reload,
        until=dt.datetime.now(dt.UTC),
        districts=districts,
    )
    for line in report.lines():
        click.echo(line)
