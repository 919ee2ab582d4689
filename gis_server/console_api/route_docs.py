"""What the console's /api/console routes take and give (their `RouteDoc`s, for OpenAPI).

Bodies are JSON built in PostGIS and cached; each carries an ETag and answers
304 to a matching If-None-Match (the console polls that way). Reporters'
names and phones are never in them.
"""

from __future__ import annotations

from gis_server.console_api.figures import WINDOWS
from gis_server.routing import Body, Param, RouteDoc
from layers import vocab

TAGS = ("console",)
_OBJECT = {"type": "object"}
_NOT_MODIFIED = Body("not modified (If-None-Match)", None, ())
_IF_NONE_MATCH = Param("If-None-Match", "header", description="the ETag of the body held")


def body_doc(
    summary: str, *params: Param, description: str = "", not_found: bool = False
) -> RouteDoc:
    """A console GET answering one JSON body (200, or 304 to its ETag)."""
    responses = {
        200: Body(summary, _OBJECT, headers=("ETag", "Last-Modified", "Cache-Control")),
        304: _NOT_MODIFIED,
    }
    if not_found:
        responses[404] = Body("not found")
    return RouteDoc(summary, tags=TAGS, params=(*params, _IF_NONE_MATCH), responses=responses,
                    description=description)  # fmt: skip


_STATUS = Param(
    "status",
    description=f"open (default), all, or a comma list of {', '.join(vocab.EVENT_STATUSES)}",
)
_VEHICLE = Param("vehicle", "path", description="vehicle code")
_DISTRICT = Param(
    "district",
    description="6-digit admin code of one district (absent: the whole city); a district-scoped "
    "user always gets their own; unknown → 400",
    schema={"type": "string", "pattern": r"^\d{6}$"},
)

DISTRICTS = body_doc("区县 districts with towns: code, name, bbox, boundary (GeoJSON geometry)")
TOWNS = body_doc("镇街 towns (GeoJSON)", _DISTRICT)
GRIDS = body_doc("网格 grids with their open events (GeoJSON)", _DISTRICT)
ZONES = body_doc("河道巡查区 river patrol zones (GeoJSON)", _DISTRICT)
CAMERAS = body_doc("摄像头 cameras (GeoJSON)", _DISTRICT)
VEHICLES = body_doc("车辆 vehicles at their last fix (GeoJSON)", _DISTRICT)
EVENTS = body_doc(
    "事件 events (columns + rows; no reporter data)",
    _DISTRICT,
    _STATUS,
    Param("window", schema={"type": "string", "enum": list(WINDOWS)}),
    Param("category", description="comma list of categories"),
    Param("limit", schema={"type": "integer", "minimum": 1}),
)
CATEGORIES = body_doc("事件类别 event categories and counts", _DISTRICT)
TOWN_STATS = body_doc("镇街统计 per-town figures (today, open, overdue, 30 days)", _DISTRICT)
TRACK_DAYS = body_doc("轨迹日期 days a vehicle has a track", _VEHICLE)
TRACK = body_doc(
    "轨迹 a vehicle's track of one day",
    _VEHICLE,
    Param("day", "path", schema={"type": "string", "format": "date"}),
    not_found=True,
)
POINT = body_doc(
    "点查 what is at a point",
    Param("lon", required=True, schema={"type": "number", "minimum": -180, "maximum": 180}),
    Param("lat", required=True, schema={"type": "number", "minimum": -90, "maximum": 90}),
)
SEARCH = body_doc(
    "搜索 search codes, names, coordinates",
    Param("q", required=True, schema={"type": "string", "minLength": 1, "maxLength": 100}),
)
BASEMAP = body_doc(
    "离线底图 offline basemap (GeoJSON)",
    Param("name", "path", schema={"type": "string", "enum": ["district", "water"]}),
    not_found=True,
)
