"""The demo district's departments and duty table (三定清单) for the demo's categories.

Bureaus by their real kind (城管局, 生态环境局, 水利局, 住建局, 市场监管局,
交通运输局, 公安分局, 应急管理局 …) plus each town's own office (镇街综治办),
which handles disputes in its town. Time limits follow the demo's deadlines
(etl/demo/catalog.py DUE_HOURS), so the generated loop agrees with the rules.
"""

from __future__ import annotations

from etl.demo.catalog import CATEGORIES, DUE_HOURS

# code: (name, kind, phone)
BUREAUS: dict[str, tuple[str, str, str]] = {
    "CGJ": ("区城市管理局", "bureau", "0513-82100101"),
    "ZJJ": ("区住房和城乡建设局", "bureau", "0513-82100102"),
    "ZFJ": ("区综合行政执法局", "bureau", "0513-82100103"),
    "TJZX": ("区社会矛盾纠纷调处中心", "centre", "0513-82100104"),
    "YJJ": ("区应急管理局", "bureau", "0513-82100105"),
    "JJDD": ("公安海门分局交警大队", "police", "0513-82100106"),
    "GAFJ": ("公安海门分局", "police", "0513-82100107"),
    "STHJJ": ("海门生态环境局", "bureau", "0513-82100108"),
    "XFJY": ("区消防救援大队", "bureau", "0513-82100109"),
    "SLJ": ("区水利局", "bureau", "0513-82100110"),
    "SCJGJ": ("区市场监督管理局", "bureau", "0513-82100111"),
    "RSJ": ("区人力资源和社会保障局", "bureau", "0513-82100112"),
    "NYNCJ": ("区农业农村局", "bureau", "0513-82100113"),
    "JTYSJ": ("区交通运输局", "bureau", "0513-82100114"),
    "GDGS": ("国网海门供电公司", "utility", "0513-82100115"),
}
BY_NAME = {name: code for code, (name, _, _) in BUREAUS.items()}

# (category, subcategory) → department code, where it differs from the category's lead.
SUBCATEGORY_RULES = {
    ("交通秩序", "渣土车抛洒"): "JTYSJ",
    ("公用事业", "停电"): "GDGS",
    ("安全隐患", "危化品存放"): "YJJ",
}
TOWN_CATEGORIES = ("矛盾纠纷",)  # handled by each town's own office first


def town_office_code(town_code: str) -> str:
    return f"TOWN-{town_code}"


def rules() -> list[dict[str, object]]:
    """District-wide rules (category, and the sub-category exceptions); town rules are SQL."""
    base = {"time_limit_hours": float(DUE_HOURS["normal"]),
            "urgent_hours": float(DUE_HOURS["urgent"]),
            "critical_hours": float(DUE_HOURS["critical"]), "same_day": False}  # fmt: skip
    out = [
        {**base, "category": cat, "subcategory": None, "department_code": BY_NAME[dept]}
        for cat, (_, dept, _) in CATEGORIES.items()
    ]
    out += [
        {**base, "category": cat, "subcategory": sub, "department_code": dept}
        for (cat, sub), dept in SUBCATEGORY_RULES.items()
    ]
    return out
