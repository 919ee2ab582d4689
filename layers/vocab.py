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
    "fishing_boat": "渔船",
    "cargo_ship": "货船",
}
# Kinds that are on the water (boats' fixes may leave the land; 禁捕区 rules judge them).
VESSEL_KINDS = ("patrol_boat", "fishing_boat", "cargo_ship")

ZONE_KINDS = {
    "fishing_ban": "禁捕区",
    "patrol": "巡河段",
    "outfall": "排污口管控区",
    "sand_mining_ban": "禁采区",
}

EVENT_SOURCES = {
    "hotline_12345": "12345热线",
    "city_management": "数字城管",
    "camera_ai": "视频智能发现",
    "geofence": "电子围栏告警",
    "grid_worker": "网格员上报",
    "wechat": "微信随手拍",
    "centre": "指挥中心录入",
}

# The dispatch loop (layers/dispatch/lifecycle.py has the transitions):
# 受理 → 派发 → 签收处置 → 办结 → 核查 → 归档; 退回 back to the dispatcher,
# 待人工派单 when no duty rule matched at intake.
EVENT_STATUSES = {
    "received": "受理",
    "manual": "待派",  # no duty rule matched: a dispatcher assigns it
    "dispatched": "派发",
    "accepted": "处置",  # signed for by the department or grid worker
    "returned": "退回",
    "resolved": "办结",  # handled, awaiting verification
    "verified": "核查",
    "closed": "归档",
}
OPEN_EVENT_STATUSES = tuple(s for s in EVENT_STATUSES if s != "closed")

# What migration 0007 turned the earlier vocabulary into (old code → new code).
LEGACY_EVENT_STATUSES = {
    "accepted": ("received", "manual"),
    "dispatched": ("dispatched", "returned"),
    "handling": ("accepted",),
    "reviewing": ("resolved", "verified"),
    "closed": ("closed",),
}

EVENT_PRIORITIES = {"normal": "一般", "urgent": "紧急", "critical": "特急"}

# 回访: the reporter's verdict on the call-back.
SATISFACTION = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}

DEPARTMENT_KINDS = {
    "bureau": "区级部门",
    "police": "公安",
    "town_office": "镇街办",
    "utility": "公用企业",
    "centre": "指挥中心",
}

# event_actions.action: the lifecycle's actions plus what intake and the clock record.
EVENT_ACTIONS = {
    "receive": "受理",
    "auto_dispatch": "自动派单",
    "queue_manual": "转人工派单",
    "dispatch": "派单",
    "accept": "签收",
    "return": "退回",
    "resolve": "办结",
    "verify": "核查通过",
    "reopen": "重新办理",
    "close": "归档",
    "escalate": "督办",
    "cohandle": "协办",
    "cohandle_done": "协办完成",
    "callback": "回访",
    "overdue": "超期",
    "photo": "上传照片",
}
