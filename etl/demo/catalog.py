"""Event categories as a Haimen-style 12345/grid platform sees them.

Weights follow the command-centre reports in the project's seed material:
environment and city-management cases dominate, grid workers find hazards
and disputes, video finds street-order problems, the hotline hears noise,
utilities and wage complaints. Each category goes to one lead department.
"""

from __future__ import annotations

# category: (weight, department, subcategories)
CATEGORIES: dict[str, tuple[float, str, tuple[str, ...]]] = {
    "环境卫生": (
        0.19,
        "区城市管理局",
        ("垃圾乱堆乱放", "垃圾桶满溢", "道路不洁", "公厕保洁", "建筑垃圾偷倒"),
    ),
    "市政设施": (
        0.10,
        "区住房和城乡建设局",
        ("路灯不亮", "道路破损", "井盖破损", "排水不畅", "公交站台损坏"),
    ),
    "占道经营": (0.08, "区综合行政执法局", ("流动摊贩", "店外经营", "占道堆物", "夜市噪杂")),
    "矛盾纠纷": (
        0.08,
        "区社会矛盾纠纷调处中心",
        ("邻里纠纷", "物业纠纷", "婚姻家庭纠纷", "土地纠纷", "劳资纠纷"),
    ),
    "违章搭建": (0.07, "区综合行政执法局", ("违法建设", "私搭乱建", "违规装修", "违建棚舍")),
    "安全隐患": (
        0.07,
        "区应急管理局",
        ("电动车违规充电", "危房", "道路塌陷", "危化品存放", "高空坠物"),
    ),
    "交通秩序": (
        0.06,
        "公安海门分局交警大队",
        ("违章停车", "非机动车乱停放", "信号灯故障", "渣土车抛洒"),
    ),
    "噪音扰民": (0.06, "海门生态环境局", ("施工噪音", "商业噪音", "生活噪音", "广场舞噪音")),
    "园林绿化": (0.05, "区城市管理局", ("树木倒伏", "绿化缺株", "毁绿种菜", "树枝遮挡")),
    "消防隐患": (
        0.04,
        "区消防救援大队",
        ("消防通道堵塞", "楼道堆物", "消防设施损坏", "群租房隐患"),
    ),
    "河道污染": (0.04, "区水利局", ("河面漂浮物", "污水直排", "河道淤积", "秸秆入河")),
    "公用事业": (0.04, "区住房和城乡建设局", ("停水", "水压低", "燃气异味", "停电")),
    "市场监管": (0.04, "区市场监督管理局", ("食品安全", "价格投诉", "无证经营", "虚假宣传")),
    "大气污染": (0.03, "海门生态环境局", ("秸秆焚烧", "露天焚烧", "扬尘污染", "油烟扰民")),
    "劳动保障": (0.03, "区人力资源和社会保障局", ("拖欠工资", "社保缴纳", "劳动合同")),
    "长江禁捕": (0.02, "区农业农村局", ("非法捕捞", "违规垂钓", "涉渔三无船舶")),
}

# (share, multiplier per category) — how each channel shifts the mix
SOURCES: dict[str, tuple[float, dict[str, float]]] = {
    "hotline_12345": (
        0.45,
        {"噪音扰民": 2.0, "公用事业": 2.5, "劳动保障": 2.5, "市场监管": 2.0, "矛盾纠纷": 1.3},
    ),
    "grid_worker": (
        0.33,
        {"安全隐患": 2.0, "消防隐患": 2.0, "矛盾纠纷": 1.8, "河道污染": 1.5, "长江禁捕": 1.5},
    ),
    "city_management": (0.10, {"环境卫生": 2.0, "市政设施": 2.0, "占道经营": 2.0, "园林绿化": 2.0}),
    "camera_ai": (
        0.07,
        {"占道经营": 4.0, "交通秩序": 4.0, "大气污染": 3.0, "长江禁捕": 4.0, "违章搭建": 2.0},
    ),
    "wechat": (0.05, {"环境卫生": 1.5, "园林绿化": 1.5, "市政设施": 1.5}),
}

URGENT_CATEGORIES = {
    "安全隐患": 0.25,
    "消防隐患": 0.25,
    "公用事业": 0.15,
    "长江禁捕": 0.2,
    "河道污染": 0.12,
}
DUE_HOURS = {"normal": 5 * 24, "urgent": 24, "critical": 4}
RIVER_CATEGORIES = ("长江禁捕",)  # placed only in grids on the riverside
