"""Controlled vocabularies: the values the schema's CHECK constraints allow.

Codes are English (stable for other systems); labels are what people read.
"""

GRID_TYPES = {
    "comprehensive": "综合网格",
    "special": "专属网格",
    "police": "警务网格",
    "river_chief": "河长网格",
}

TOWN_KINDS = {"town": "镇", "subdistrict": "街道", "zone": "园区", "farm": "农场"}

CAMERA_KINDS = {
    "xueliang": "雪亮工程",
    "high_altitude": "高空瞭望",
    "riverside": "沿江沿河",
    "body_cam": "执法记录仪",
}
CAMERA_STATUSES = {"online": "在线", "offline": "离线", "fault": "故障"}

VEHICLE_KINDS = {
    "sanitation": "环卫车",
    "muck": "渣土车",
    "sweeper": "清扫车",
    "patrol_boat": "巡逻艇",
}

ZONE_KINDS = {
    "fishing_ban": "禁捕区",
    "patrol": "巡河段",
    "outfall": "排污口管控区",
    "sand_mining_ban": "禁采区",
}

EVENT_SOURCES = {
    "hotline_12345": "12345热线",
    "grid_worker": "网格员上报",
    "video": "视频智能发现",
    "wechat": "微信随手拍",
    "city_management": "数字城管",
}

# The dispatch loop 受理 → 派发 → 处置 → 复核 → 办结.
EVENT_STATUSES = {
    "accepted": "受理",
    "dispatched": "派发",
    "handling": "处置",
    "reviewing": "复核",
    "closed": "办结",
}

EVENT_PRIORITIES = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
