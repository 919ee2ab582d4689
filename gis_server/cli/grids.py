"""`onemap grids check [--type] [--json]` and `onemap grids diff --from --to`.

`check` prints the district topology report and exits 1 when any rule is broken
(so cron or CI can alert); `diff` lists grids added, removed and reshaped between
two instants.
"""

from __future__ import annotations

import json
import sys

import click

from gis_server.api_grids import check_report, parse_instant
from gis_server.cli.options import fail, load_or_exit
from gis_server.database import connect
from gis_server.editing import tolerance
from gis_server.errors import InvalidParameter
from layers import grid_history, vocab

_KIND_ZH = {"overlap": "重叠", "outside_town": "超出镇街", "gap": "缝隙"}


@click.group()
def grids() -> None:
    """网格拓扑检查与历史 Grid topology checks and history."""


@grids.command("check")
@click.option("--type", "grid_type", type=click.Choice(list(vocab.GRID_TYPES)), default=None)
@click.option("--json", "as_json", is_flag=True, help="JSON report (as GET /api/grids/check).")
def check_cmd(grid_type: str | None, as_json: bool) -> None:
    """检查重叠、缝隙、碎片与超出镇街 Check overlaps, gaps, slivers, grids outside their town."""
    settings = load_or_exit()
    conn = connect(settings.database.dsn)
    try:
        report = check_report(conn, grid_type, tolerance(settings))
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        c = report["counts"]
        click.echo(
            f"重叠 overlaps {c['overlap']} · 缝隙 gaps {c['gap']} · 碎片 slivers {c['sliver']} · "
            f"超出镇街 outside town {c['outside_town']} ({report['elapsed_ms']} ms)"
        )
        for v in report["violations"]:
            x, y = _where(v["geometry"])
            sliver = " [碎片 sliver]" if v["sliver"] else ""
            click.echo(
                f"  {_KIND_ZH[v['kind']]} {v['kind']}: {v['code'] or '-'} / {v['other']} "
                f"{v['area_m2']:.1f} m² @ {x:.6f},{y:.6f}{sliver}"
            )
    sys.exit(0 if report["ok"] else 1)


def _where(geometry: dict) -> tuple[float, float]:
    """A representative coordinate of a piece (its first vertex) for the text report."""
    coords = geometry.get("coordinates")
    while isinstance(coords, list) and coords and isinstance(coords[0], list):
        coords = coords[0]
    return (coords[0], coords[1]) if coords else (0.0, 0.0)


@grids.command("diff")
@click.option("--from", "t_from", required=True, help="ISO 8601 instant (Asia/Shanghai if naive).")
@click.option("--to", "t_to", required=True, help="ISO 8601 instant.")
@click.option("--type", "grid_type", type=click.Choice(list(vocab.GRID_TYPES)), default=None)
def diff_cmd(t_from: str, t_to: str, grid_type: str | None) -> None:
    """两个时间之间的网格变化 Grids added, removed and reshaped between two instants."""
    settings = load_or_exit()
    try:
        lo, hi = parse_instant("from", t_from), parse_instant("to", t_to)
    except InvalidParameter as exc:
        fail(f"参数错误 — bad parameter: {exc.description}", 2)
        return
    conn = connect(settings.database.dsn)
    try:
        with conn.cursor() as cur:
            out = grid_history.diff(cur, lo, hi, grid_type)
    finally:
        conn.close()
    click.echo(
        json.dumps(
            {"from": lo.isoformat(), "to": hi.isoformat(), **out}, ensure_ascii=False, indent=2
        )
    )
