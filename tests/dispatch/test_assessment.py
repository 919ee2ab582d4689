"""`onemap report monthly`: the workbook opens, and the 100-point scores match SQL computed apart."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from gis_server.cli.main import cli
from tests.dispatch.conftest import run_sql

# The score in one SQL statement, default weights: hotline 50 × (0.4 on time + 0.4 closed
# + 0.2 satisfied), grid 50 × (0.5 on time + 0.5 closed); a part with no events: full marks.
SCORE_SQL = """
WITH b AS (SELECT (%(m)s || '-01')::date::timestamp AT TIME ZONE 'Asia/Shanghai' AS s,
                  ((%(m)s || '-01')::date + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai' AS e),
r AS (
  SELECT town_code AS k,
    count(*) FILTER (WHERE source = 'hotline_12345') AS h,
    sum((closed_at <= due_at)::int) FILTER (WHERE source = 'hotline_12345' AND status = 'closed')::float8
      / nullif(count(*) FILTER (WHERE source = 'hotline_12345' AND status = 'closed'), 0) AS hot,
    count(*) FILTER (WHERE source = 'hotline_12345' AND status = 'closed')::float8
      / nullif(count(*) FILTER (WHERE source = 'hotline_12345'), 0) AS hc,
    count(*) FILTER (WHERE source = 'hotline_12345' AND satisfaction IN ('satisfied', 'basic'))::float8
      / nullif(count(*) FILTER (WHERE source = 'hotline_12345' AND satisfaction IS NOT NULL), 0) AS hs,
    count(*) FILTER (WHERE source = 'grid_worker') AS g,
    sum((closed_at <= due_at)::int) FILTER (WHERE source = 'grid_worker' AND status = 'closed')::float8
      / nullif(count(*) FILTER (WHERE source = 'grid_worker' AND status = 'closed'), 0) AS got,
    count(*) FILTER (WHERE source = 'grid_worker' AND status = 'closed')::float8
      / nullif(count(*) FILTER (WHERE source = 'grid_worker'), 0) AS gc
  FROM events, b WHERE created_at >= b.s AND created_at < b.e AND town_code IS NOT NULL GROUP BY 1)
SELECT k, CASE WHEN h = 0 THEN 50 WHEN hs IS NULL THEN 50 * (0.4 * hot + 0.4 * hc) / 0.8
               ELSE 50 * (0.4 * hot + 0.4 * hc + 0.2 * hs) END
        + CASE WHEN g = 0 THEN 50 ELSE 50 * (0.4 * got + 0.4 * gc) / 0.8 END
FROM r
"""


@pytest.fixture(scope="module")
def month(demo_db) -> str:  # noqa: ANN001
    """The last whole month of the demo year."""
    return run_sql(demo_db, "SELECT to_char(date_trunc('month', max(created_at) AT TIME ZONE 'Asia/Shanghai') "
                   "- interval '1 month', 'YYYY-MM') FROM events WHERE code LIKE 'HM%%'")[0][0]  # fmt: skip


def test_monthly_workbook_scores_and_ranks(world, month, tmp_path) -> None:
    out = tmp_path / "考核.xlsx"
    r = CliRunner().invoke(cli, ["report", "monthly", month, "-o", str(out)])
    assert r.exit_code == 0, r.output
    book = load_workbook(out)
    assert book.sheetnames == ["镇街排名", "部门排名", "网格员排名"]
    towns = book["镇街排名"]
    assert [c.value for c in towns[2]][:4] == ["名次", "单位编码", "单位名称", "总分"]
    rows = [[c.value for c in row] for row in towns.iter_rows(min_row=3)]
    truth = {k: round(v, 2) for k, v in run_sql(world, SCORE_SQL, {"m": month}) if k.isdigit()}
    got = {row[1]: row[3] for row in rows}
    assert len(truth) > 3 and all(got[k] == pytest.approx(v, abs=0.011) for k, v in truth.items())
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    assert [row[3] for row in rows] == sorted((row[3] for row in rows), reverse=True)
    assert all(0 <= row[3] <= 100 and row[2] for row in rows if row[1].isdigit())
    assert book["部门排名"].max_row > 5 and book["网格员排名"].max_row > 5
    assert towns.page_setup.orientation == "landscape" and towns.print_title_rows == "$2:$2"


def test_a_bad_month_is_refused(world, tmp_path) -> None:
    r = CliRunner().invoke(cli, ["report", "monthly", "2026-13", "-o", str(tmp_path / "x.xlsx")])
    assert r.exit_code == 2 and "YYYY-MM" in r.output
