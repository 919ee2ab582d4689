"""The district a console body is for: the whole city, one district, or the user's own.

A prefecture runs several districts on one onemap (issue 16). The console asks
for one with `?district=320681`; a district-scoped user (Principal.district_code)
gets theirs whatever the URL says, so a scoped screen never shows another
district's features. A code that is not a district with towns is a 400 naming
`district`. `DISTRICTS_SQL` is the picker's list and the city view's boundaries
(each district the union of its towns, so it agrees with what is drawn inside).
"""

from __future__ import annotations

import json
import re
from functools import cache

from psycopg import sql

from gis_server.auth.principal import Principal
from gis_server.console_api.layers import geojson_sql
from gis_server.errors import InvalidConsoleParameter
from gis_server.settings import PROJECT_DIR

# Names of admin codes the project ships boundaries for (data/haimen/README.md); the
# configured district's name (settings district.name) wins for its own code.
GAZETTEER = PROJECT_DIR / "data" / "haimen" / "nantong_districts_and_chongming.geojson"


KNOWN_SQL = (
    "SELECT coalesce(array_agg(DISTINCT district_code ORDER BY district_code), '{}') FROM towns"
)

DISTRICTS_SQL = sql.SQL("""
SELECT json_build_object('districts', coalesce(json_agg(json_build_object(
    'code', d.district_code, 'towns', d.towns,
    'bbox', json_build_array(round(ST_XMin(d.geom)::numeric, 5), round(ST_YMin(d.geom)::numeric, 5),
                             round(ST_XMax(d.geom)::numeric, 5), round(ST_YMax(d.geom)::numeric, 5)),
    'geometry', {geom}) ORDER BY d.district_code), '[]'))::text
FROM (SELECT district_code, count(*) AS towns,
             ST_Union(ST_SnapToGrid(geom, 0.000001)) AS geom
      FROM towns GROUP BY district_code) d
""").format(geom=geojson_sql("ST_SimplifyPreserveTopology(d.geom, 0.0005)"))


@cache
def names(home_code: str, home_name: str) -> dict[str, str]:
    """{admin code: name} from the shipped boundaries, plus the configured district."""
    out: dict[str, str] = {}
    if GAZETTEER.exists():
        with open(GAZETTEER, encoding="utf-8") as fh:
            for f in json.load(fh)["features"]:
                p = f["properties"]
                if p.get("adcode") and p.get("district"):
                    out[str(p["adcode"])] = str(p["district"])
    out[home_code] = home_name or out.get(home_code, home_code)
    return out


def resolve(principal: Principal | None, raw: str | None, known: list[str]) -> str | None:
    """The body's district: the scoped user's own, else `raw` (None or '' : the city)."""
    if principal is not None and principal.district_code is not None:
        return principal.district_code
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"\d{6}", raw):
        raise InvalidConsoleParameter(
            "district", f"应为6位区划代码 — not a 6-digit admin code: {raw!r}"
        )
    if raw not in known:
        raise InvalidConsoleParameter(
            "district", f"无此区县 — no district {raw}; known: {', '.join(known) or 'none'}"
        )
    return raw
