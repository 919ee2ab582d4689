"""`onemap duties import FILE.xlsx | list`: the centre's duty list (三定清单) from a workbook."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from etl.duty_xlsx import DutyFileError, read_rules
from gis_server.auth import audit
from gis_server.cli.options import fail, load_or_exit
from gis_server.database import connect
from layers.dispatch import duties as domain
from layers.dispatch.errors import BadInput


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@click.group("duties")
def duties() -> None:
    """职责清单 — duty rules: which department handles which category (auto-dispatch)."""


@duties.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def duties_import(file: Path) -> None:
    """导入 — upsert the rules of FILE.xlsx (大类, 小类, 镇街, 责任部门编码, 时限(小时) …)."""
    try:
        rows = list(read_rules(file.read_bytes()))
    except DutyFileError as exc:
        fail(f"错误 — error: {exc}")
    conn = connect(load_or_exit().database.dsn)
    try:
        with conn.cursor() as cur:
            counts = domain.import_rules(cur, rows)
        audit.record(conn, _actor(), "import", "duty_rules", None, None,
                     {"file": file.name, "rows": len(rows), **counts})  # fmt: skip
        conn.commit()
    except BadInput as exc:
        fail(f"错误 — error: {exc}")
    finally:
        conn.close()
    click.echo(
        f"已导入 {len(rows)} 行 — imported {len(rows)} rows: "
        f"{counts['inserted']} new, {counts['updated']} updated"
    )


@duties.command("list")
def duties_list() -> None:
    """列出 — every rule: category, sub-category, town → department, hours."""
    conn = connect(load_or_exit().database.dsn)
    try:
        with conn.cursor() as cur:
            rules = domain.list_rules(cur)
    finally:
        conn.close()
    for r in rules:
        what = "·".join(x for x in (r["category"], r["subcategory"]) if x)
        where = f" @{r['town_code']}" if r["town_code"] else ""
        click.echo(
            f"{r['id']:>5} {what}{where} → {r['department_code']} ({r['time_limit_hours']:g} h)"
        )
