"""`onemap report monthly YYYY-MM -o 考核.xlsx`: the workbook for the district head's meeting."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from etl import assessment_xlsx
from gis_server.cli.options import fail, load_or_exit
from gis_server.database import connect
from layers.dispatch import assessment
from layers.dispatch.rules import LOCAL


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """[first day, first day of the next month) of YYYY-MM, Asia/Shanghai."""
    try:
        first = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=LOCAL)
    except ValueError:
        fail(f"错误 — error: 月份应为 YYYY-MM — month must be YYYY-MM, not {month!r}", 2)
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt


@click.group("report")
def report() -> None:
    """报表 — assessment reports of the dispatch loop."""


@report.command("monthly")
@click.argument("month")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def monthly(month: str, output: Path) -> None:
    """月度考核 — score and rank towns, departments (100 points) and grid workers for MONTH."""
    settings = load_or_exit()
    start, end = month_bounds(month)
    w = assessment.Weights(**settings.dispatch.assessment.model_dump())
    t0 = time.perf_counter()
    conn = connect(settings.database.dsn)
    try:
        with conn.cursor() as cur:
            towns = assessment.ranking(cur, "town", start, end, w)
            departments = assessment.ranking(cur, "department", start, end, w)
            workers = assessment.workers(cur, start, end)
            cur.execute("SELECT code, name FROM towns UNION ALL SELECT code, name FROM departments")
            names = dict(cur.fetchall())
    finally:
        conn.close()
    for row in (*towns, *departments):
        row["name"] = names.get(row["key"])
    assessment_xlsx.write(output, month, towns, departments, workers)
    click.echo(
        f"已写出 — wrote {output}: {len(towns)} towns, {len(departments)} departments, "
        f"{len(workers)} grid workers ({time.perf_counter() - t0:.1f} s)"
    )
