"""The layer registry: every layer onemap serves, in display order."""

from __future__ import annotations

from layers import vocab
from layers.base import LayerSpec, Style, d, i, n, s, t

TOWNS = LayerSpec(
    id="towns",
    table="towns",
    mercator_column="geom_3857",
    title_zh="镇街",
    title_en="Towns and sub-districts",
    description_zh="区内镇、街道、园区与农场的行政范围",
    description_en="Boundaries of the district's towns, sub-districts, zones and farms",
    geometry_type="MultiPolygon",
    properties=(
        s("code", "统计代码", "Statistical code"),
        s("name", "名称", "Name"),
        s("kind", "类型", "Kind", tuple(vocab.TOWN_KINDS)),
        n("area_km2", "面积(平方公里)", "Area (km²)"),
    ),
    keywords=("镇街", "towns", "administrative"),
    style=Style(color="#f0c419", weight=2.5, fill_opacity=0.0),
)

GRIDS = LayerSpec(
    id="grids",
    table="grids",
    mercator_column="geom_3857",
    title_zh="网格",
    title_en="Grids",
    description_zh="综合网格、专属网格等网格边界及网格员;datetime 查询历史版本",
    description_en="Comprehensive, special, police and river-chief grids with their workers; "
    "datetime returns the layout in force then",
    geometry_type="MultiPolygon",
    properties=(
        s("code", "网格编码", "Grid code"),
        s("name", "网格名称", "Grid name"),
        s("town_code", "所属镇街", "Town code"),
        s("grid_type", "网格类型", "Grid type", tuple(vocab.GRID_TYPES)),
        s("worker_name", "网格员", "Grid worker"),
        s("worker_phone", "网格员电话", "Grid worker phone"),
        i("population", "人口", "Population"),
        i("households", "户数", "Households"),
        n("area_km2", "面积(平方公里)", "Area (km²)"),
        i("version", "版本", "Version"),
        t("valid_from", "生效时间", "Valid from"),
        t("valid_to", "失效时间", "Valid to"),
    ),
    time_start="valid_from",
    time_end="valid_to",
    current_filter="valid_to IS NULL",
    keywords=("网格", "grids", "网格化社会治理"),
    style=Style(
        color="#35a7ff",
        by_property="grid_type",
        palette={
            "comprehensive": "#35a7ff",
            "special": "#ff7f50",
            "police": "#7b68ee",
            "river_chief": "#20b2aa",
        },
    ),
    editable=True,
)

CAMERAS = LayerSpec(
    id="cameras",
    table="cameras",
    mercator_column="geom_3857",
    title_zh="视频点位",
    title_en="Cameras",
    description_zh="雪亮工程、高空瞭望、沿江沿河视频点位及执法记录仪",
    description_en="Public-security, high-altitude, riverside and body cameras",
    geometry_type="Point",
    properties=(
        s("code", "点位编码", "Camera code"),
        s("name", "点位名称", "Camera name"),
        s("kind", "类型", "Kind", tuple(vocab.CAMERA_KINDS)),
        s("status", "状态", "Status", tuple(vocab.CAMERA_STATUSES)),
        s("stream_url", "视频流地址", "Stream URL"),
        s("grid_code", "所属网格", "Grid code"),
        s("town_code", "所属镇街", "Town code"),
        d("installed_on", "安装日期", "Installed on"),
    ),
    keywords=("视频", "cameras", "雪亮工程"),
    style=Style(
        color="#2ecc71",
        radius=3,
        by_property="status",
        palette={"online": "#2ecc71", "offline": "#95a5a6", "fault": "#e74c3c"},
    ),
    editable=True,
)

VEHICLES = LayerSpec(
    id="vehicles",
    table="vehicles",
    mercator_column="geom_3857",
    title_zh="车辆船只",
    title_en="Vehicles",
    description_zh="环卫车、渣土车、清扫车与巡逻艇的最新位置",
    description_en="Latest position of sanitation, muck and sweeper trucks and patrol boats",
    geometry_type="Point",
    properties=(
        s("code", "车辆编号", "Vehicle code"),
        s("plate", "车牌/船号", "Plate"),
        s("kind", "类型", "Kind", tuple(vocab.VEHICLE_KINDS)),
        s("company", "作业单位", "Operator"),
        s("town_code", "所属镇街", "Town code"),
        t("last_fix_at", "最后定位时间", "Last fix time"),
        n("speed_kmh", "速度(km/h)", "Speed (km/h)"),
        n("heading", "航向(度)", "Heading (°)"),
    ),
    time_start="last_fix_at",
    keywords=("车辆", "vehicles", "GPS"),
    style=Style(
        color="#e67e22",
        by_property="kind",
        palette={
            "sanitation": "#27ae60",
            "muck": "#8e5a2b",
            "sweeper": "#2980b9",
            "patrol_boat": "#00bcd4",
        },
    ),
)

VEHICLE_POSITIONS = LayerSpec(
    id="vehicle_positions",
    table="vehicle_positions",
    title_zh="车辆定位点",
    title_en="Vehicle GPS fixes",
    description_zh="车载GPS定位记录(按日分区)",
    description_en="GPS fixes reported by vehicles (partitioned by day)",
    geometry_type="Point",
    id_column="id",
    id_type="integer",
    properties=(
        s("vehicle_code", "车辆编号", "Vehicle code"),
        t("fix_time", "定位时间", "Fix time"),
        n("speed_kmh", "速度(km/h)", "Speed (km/h)"),
        n("heading", "航向(度)", "Heading (°)"),
    ),
    time_start="fix_time",
    # millions of fixes a day: tiles from z12 (a town-sized tile), the last 24 h by default;
    # the overview is the tracks layer
    tile_min_zoom=12,
    tile_window_hours=24,
    keywords=("GPS", "定位"),
    style=Style(color="#e67e22", radius=2),
)

VEHICLE_TRACKS = LayerSpec(
    id="vehicle_tracks",
    table="vehicle_tracks",
    mercator_column="geom_3857",
    title_zh="车辆轨迹",
    title_en="Vehicle tracks",
    description_zh="每车每日作业轨迹(M值为定位时间)",
    description_en="One track per vehicle per day (M = fix time, epoch seconds)",
    geometry_type="LineString",
    properties=(
        s("code", "轨迹编号", "Track code"),
        s("vehicle_code", "车辆编号", "Vehicle code"),
        s("plate", "车牌/船号", "Plate"),
        s("kind", "类型", "Kind", tuple(vocab.VEHICLE_KINDS)),
        d("day", "日期", "Day"),
        t("started_at", "开始时间", "Started at"),
        t("ended_at", "结束时间", "Ended at"),
        i("fix_count", "定位点数", "Fixes"),
        n("distance_km", "里程(km)", "Distance (km)"),
    ),
    time_start="started_at",
    time_end="ended_at",
    keywords=("轨迹", "tracks"),
    style=Style(color="#f39c12", weight=2),
)

RIVER_PATROL_ZONES = LayerSpec(
    id="river_patrol_zones",
    table="river_patrol_zones",
    mercator_column="geom_3857",
    title_zh="巡河区域",
    title_en="River patrol zones",
    description_zh="长江禁捕区、巡河段、排污口管控区与禁采区及河长",
    description_en="Yangtze fishing-ban, patrol, outfall and sand-mining-ban zones with their river chiefs",
    geometry_type="MultiPolygon",
    properties=(
        s("code", "区域编码", "Zone code"),
        s("name", "名称", "Name"),
        s("river", "河流", "River"),
        s("zone_kind", "区域类型", "Zone kind", tuple(vocab.ZONE_KINDS)),
        s("river_chief", "河长", "River chief"),
        s("river_chief_level", "河长级别", "River chief level"),
        s("town_code", "所属镇街", "Town code"),
        n("area_km2", "面积(平方公里)", "Area (km²)"),
    ),
    keywords=("河长制", "长江禁捕", "river"),
    style=Style(
        color="#1e90ff",
        by_property="zone_kind",
        palette={
            "fishing_ban": "#e74c3c",
            "patrol": "#1e90ff",
            "outfall": "#9b59b6",
            "sand_mining_ban": "#f1c40f",
        },
    ),
    editable=True,
)

EVENTS = LayerSpec(
    id="events",
    table="events",
    mercator_column="geom_3857",
    title_zh="事件工单",
    title_en="Events",
    description_zh="12345热线、网格员上报、视频发现等事件工单(不含报告人信息)",
    description_en="Cases from the 12345 hotline, grid workers, video and WeChat (no reporter data)",
    geometry_type="Point",
    properties=(
        s("code", "工单编号", "Case code"),
        s("title", "标题", "Title"),
        s("source", "来源", "Source", tuple(vocab.EVENT_SOURCES)),
        s("category", "大类", "Category"),
        s("subcategory", "小类", "Subcategory"),
        s("status", "状态", "Status", tuple(vocab.EVENT_STATUSES)),
        s("priority", "紧急程度", "Priority", tuple(vocab.EVENT_PRIORITIES)),
        s("grid_code", "所属网格", "Grid code"),
        s("town_code", "所属镇街", "Town code"),
        s("department", "处置部门", "Department"),
        s("address", "地址", "Address"),
        t("created_at", "受理时间", "Created at"),
        t("due_at", "办结时限", "Due at"),
        t("closed_at", "办结时间", "Closed at"),
    ),
    time_start="created_at",
    keywords=("事件", "工单", "12345", "events"),
    style=Style(
        color="#e74c3c",
        radius=4,
        by_property="status",
        palette={
            "accepted": "#e74c3c",
            "dispatched": "#e67e22",
            "handling": "#f1c40f",
            "reviewing": "#3498db",
            "closed": "#7f8c8d",
        },
    ),
    editable=True,
    default_sort="created_at",
)

LAYERS: tuple[LayerSpec, ...] = (
    TOWNS,
    GRIDS,
    CAMERAS,
    VEHICLES,
    VEHICLE_POSITIONS,
    VEHICLE_TRACKS,
    RIVER_PATROL_ZONES,
    EVENTS,
)

BY_ID = {layer.id: layer for layer in LAYERS}


def get_layer(layer_id: str) -> LayerSpec:
    return BY_ID[layer_id]
