"""The layer registry: every layer onemap serves, in display order."""

from __future__ import annotations

from layers.base import ImportRules, LayerSpec, Style, derived, public
from layers.tables import features

TOWNS = LayerSpec(
    id="towns",
    table="towns",
    mercator_column="geom_3857",
    title_zh="镇街",
    title_en="Towns and sub-districts",
    description_zh="区内镇、街道、园区与农场的行政范围",
    description_en="Boundaries of the district's towns, sub-districts, zones and farms",
    geometry_type="MultiPolygon",
    properties=public(
        features.towns,
        code=("统计代码", "Statistical code"),
        name=("名称", "Name"),
        kind=("类型", "Kind"),
        area_km2=("面积(平方公里)", "Area (km²)"),
        district_code=("所属区县", "District code"),
    ),
    imports=ImportRules(system=frozenset({"area_km2"}), derived_area=True),
    console_group="admin",
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
    properties=public(
        features.grids,
        code=("网格编码", "Grid code"),
        name=("网格名称", "Grid name"),
        town_code=("所属镇街", "Town code"),
        district_code=("所属区县", "District code"),
        grid_type=("网格类型", "Grid type"),
        worker_name=("网格员", "Grid worker"),
        worker_phone=("网格员电话", "Grid worker phone"),
        population=("人口", "Population"),
        households=("户数", "Households"),
        area_km2=("面积(平方公里)", "Area (km²)"),
        version=("版本", "Version"),
        valid_from=("生效时间", "Valid from"),
        valid_to=("失效时间", "Valid to"),
    ),
    time_start="valid_from",
    time_end="valid_to",
    current_filter="valid_to IS NULL",
    versioned=True,
    if_match_required=True,
    imports=ImportRules(
        system=frozenset({"area_km2", "version", "valid_from", "valid_to"}), derived_area=True
    ),
    console_group="admin",
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
    write_role="gis_editor",
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
    properties=public(
        features.cameras,
        code=("点位编码", "Camera code"),
        name=("点位名称", "Camera name"),
        kind=("类型", "Kind"),
        status=("状态", "Status"),
        stream_url=("视频流地址", "Stream URL"),
        grid_code=("所属网格", "Grid code"),
        town_code=("所属镇街", "Town code"),
        district_code=("所属区县", "District code"),
        installed_on=("安装日期", "Installed on"),
    ),
    imports=ImportRules(locate=True),
    console_group="video",
    keywords=("视频", "cameras", "雪亮工程"),
    style=Style(
        color="#2ecc71",
        radius=3,
        by_property="status",
        palette={"online": "#2ecc71", "offline": "#95a5a6", "fault": "#e74c3c"},
    ),
    write_role="gis_editor",
)

VEHICLES = LayerSpec(
    id="vehicles",
    table="vehicles",
    mercator_column="geom_3857",
    title_zh="车辆船只",
    title_en="Vehicles",
    description_zh="环卫车、渣土车、清扫车、巡逻艇、渔船与货船的最新位置;online: 离线阈值内有定位",
    description_en="Latest position of sanitation, muck and sweeper trucks, patrol boats, fishing "
    "boats and cargo ships; online: a fix within feed.offline_after_s",
    geometry_type="Point",
    properties=public(
        features.vehicles,
        code=("车辆编号", "Vehicle code"),
        plate=("车牌/船号", "Plate"),
        kind=("类型", "Kind"),
        company=("作业单位", "Operator"),
        town_code=("所属镇街", "Town code"),
        district_code=("所属区县", "District code"),
        last_fix_at=("最后定位时间", "Last fix time"),
        speed_kmh=("速度(km/h)", "Speed (km/h)"),
        heading=("航向(度)", "Heading (°)"),
    )
    + (
        derived(
            "online",
            "boolean",
            ("在线", "Online"),
            "coalesce(last_fix_at > now() - make_interval(secs => {offline_after_s}), false)",
            "最后定位在 feed.offline_after_s 秒内(读取时计算) — the last fix is within "
            "feed.offline_after_s seconds of now (computed when read; the console's offline rule)",
        ),
    ),
    time_start="last_fix_at",
    # attributes only: the position is the GPS feed's
    imports=ImportRules(
        system=frozenset({"last_fix_at", "speed_kmh", "heading", "geom", "online"})
    ),
    console_group="fleet",
    keywords=("车辆", "vehicles", "GPS"),
    style=Style(
        color="#e67e22",
        by_property="kind",
        palette={
            "sanitation": "#27ae60",
            "muck": "#8e5a2b",
            "sweeper": "#2980b9",
            "patrol_boat": "#00bcd4",
            "fishing_boat": "#e91e63",
            "cargo_ship": "#9c27b0",
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
    properties=public(
        features.vehicle_positions,
        vehicle_code=("车辆编号", "Vehicle code"),
        fix_time=("定位时间", "Fix time"),
        speed_kmh=("速度(km/h)", "Speed (km/h)"),
        heading=("航向(度)", "Heading (°)"),
    ),
    time_start="fix_time",
    # millions of fixes a day: tiles from z12 (a town-sized tile), the last 24 h by default;
    # the overview is the tracks layer
    tile_min_zoom=12,
    tile_window_hours=24,
    imports=ImportRules(loader="gps_fixes"),
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
    properties=public(
        features.vehicle_tracks,
        code=("轨迹编号", "Track code"),
        vehicle_code=("车辆编号", "Vehicle code"),
        plate=("车牌/船号", "Plate"),
        kind=("类型", "Kind"),
        day=("日期", "Day"),
        started_at=("开始时间", "Started at"),
        ended_at=("结束时间", "Ended at"),
        fix_count=("定位点数", "Fixes"),
        distance_km=("里程(km)", "Distance (km)"),
        district_code=("所属区县", "District code"),
    ),
    time_start="started_at",
    time_end="ended_at",
    console_group="fleet",
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
    properties=public(
        features.river_patrol_zones,
        code=("区域编码", "Zone code"),
        name=("名称", "Name"),
        river=("河流", "River"),
        zone_kind=("区域类型", "Zone kind"),
        river_chief=("河长", "River chief"),
        river_chief_level=("河长级别", "River chief level"),
        town_code=("所属镇街", "Town code"),
        district_code=("所属区县", "District code"),
        area_km2=("面积(平方公里)", "Area (km²)"),
    ),
    imports=ImportRules(system=frozenset({"area_km2"}), derived_area=True),
    console_group="river",
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
    write_role="gis_editor",
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
    properties=public(
        features.events,
        code=("工单编号", "Case code"),
        title=("标题", "Title"),
        source=("来源", "Source"),
        category=("大类", "Category"),
        subcategory=("小类", "Subcategory"),
        status=("状态", "Status"),
        priority=("紧急程度", "Priority"),
        grid_code=("所属网格", "Grid code"),
        town_code=("所属镇街", "Town code"),
        district_code=("所属区县", "District code"),
        department=("处置部门", "Department"),
        department_code=("处置部门编码", "Department code"),
        address=("地址", "Address"),
        created_at=("受理时间", "Created at"),
        due_at=("办结时限", "Due at"),
        closed_at=("办结时间", "Closed at"),
    ),
    time_start="created_at",
    imports=ImportRules(locate=True, private=("reporter_name", "reporter_phone")),
    console_group="cases",
    keywords=("事件", "工单", "12345", "events"),
    style=Style(
        color="#e74c3c",
        radius=4,
        by_property="status",
        palette={
            # received, manual and returned (the centre's to act on) take the layer colour
            "dispatched": "#e67e22",
            "accepted": "#f1c40f",
            "resolved": "#3498db",
            "verified": "#1abc9c",
            "closed": "#7f8c8d",
        },
    ),
    write_role="dispatcher",
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
