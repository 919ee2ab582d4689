"""The districts of a multi-district demo (`onemap demo --districts N`): Haimen and its neighbours.

Boundaries are real (data/haimen/nantong_districts_and_chongming.geojson);
nothing else about a neighbour is. Town names are the commonly known
town-level units of each district (no open source has their polygons or
positions), their areas a seeded partition of the district's land and their
codes synthetic (district code + a 3-digit sequence, so unique across
districts). Each district gets its own code prefix for vehicles, zones and
events (启东 QD …) and its own bureaus (启东市城市管理局 …).
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.demo.geography import HAIMEN


@dataclass(frozen=True)
class District:
    code: str  # 6-digit admin code
    name: str  # 海门区, 启东市 …
    short: str  # 海门, 启东 …
    prefix: str  # code prefix of vehicles, river zones and events
    city: str  # the prefecture it belongs to
    plate: str  # vehicle plate prefix
    towns: tuple[str, ...] = ()  # names; 街道 become kind "subdistrict"

    @property
    def county_level_city(self) -> bool:
        """A 市 or 县 has its own 公安局; a 区 a city bureau's 分局."""
        return not self.name.endswith("区")


HAIMEN_DISTRICT = District(HAIMEN, "海门区", "海门", "HM", "南通市", "苏F")

# Nearest to Haimen first (the order --districts takes them in).
NEIGHBOURS: tuple[District, ...] = (
    District("320681", "启东市", "启东", "QD", "南通市", "苏F", (
        "汇龙镇", "南阳镇", "北新镇", "王鲍镇", "合作镇", "海复镇", "近海镇", "寅阳镇",
        "惠萍镇", "东海镇", "吕四港镇")),
    District("320612", "通州区", "通州", "TZ", "南通市", "苏F", (
        "金沙街道", "先锋街道", "兴东街道", "西亭镇", "二甲镇", "东社镇", "三余镇", "十总镇",
        "平潮镇", "平东镇", "五接镇", "兴仁镇", "石港镇", "刘桥镇", "川姜镇")),
    District("310151", "崇明区", "崇明", "CM", "上海市", "沪C", (
        "城桥镇", "堡镇", "新河镇", "庙镇", "竖新镇", "向化镇", "三星镇", "港沿镇", "中兴镇",
        "陈家镇", "绿华镇", "港西镇", "建设镇", "新海镇", "东平镇", "新村乡")),
    District("320613", "崇川区", "崇川", "CC", "南通市", "苏F", (
        "城东街道", "和平桥街道", "任港街道", "新城桥街道", "虹桥街道", "学田街道", "钟秀街道",
        "文峰街道", "观音山街道", "狼山镇街道", "幸福街道", "永兴街道", "秦灶街道", "陈桥街道",
        "唐闸镇街道", "天生港镇街道")),
    District("320623", "如东县", "如东", "RD", "南通市", "苏F", (
        "掘港街道", "苴镇街道", "岔河镇", "双甸镇", "马塘镇", "丰利镇", "曹埠镇", "栟茶镇",
        "洋口镇", "长沙镇", "大豫镇", "袁庄镇", "河口镇", "新店镇")),
    District("320682", "如皋市", "如皋", "RG", "南通市", "苏F", (
        "如城街道", "城南街道", "城北街道", "白蒲镇", "林梓镇", "下原镇", "九华镇", "石庄镇",
        "长江镇", "吴窑镇", "江安镇", "搬经镇", "磨头镇", "丁堰镇", "东陈镇")),
    District("320685", "海安市", "海安", "HA", "南通市", "苏F", (
        "海安街道", "孙庄街道", "城东镇", "曲塘镇", "李堡镇", "角斜镇", "大公镇", "雅周镇",
        "白甸镇", "南莫镇", "墩头镇")),
)  # fmt: skip
MAX_DISTRICTS = 1 + len(NEIGHBOURS)


def demo_districts(n: int) -> tuple[District, ...]:
    """Haimen and its n-1 nearest neighbours."""
    if not 1 <= n <= MAX_DISTRICTS:
        raise ValueError(f"districts must be 1..{MAX_DISTRICTS}, not {n}")
    return (HAIMEN_DISTRICT, *NEIGHBOURS[: n - 1])


def bureau_name(d: District, code: str, haimen_name: str) -> str:
    """The district's own name for the bureau Haimen calls `haimen_name` (区城市管理局 …)."""
    police = f"{d.name}公安局" if d.county_level_city else f"{d.city}公安局{d.short}分局"
    special = {
        "JJDD": f"{police}交警大队",
        "GAFJ": police,
        "STHJJ": f"{d.city}{d.short}生态环境局" if d.city == "南通市" else f"{d.name}生态环境局",
        "GDGS": f"国网{d.short}供电公司",
    }
    if code in special:
        return special[code]
    return d.name + haimen_name.removeprefix("区")


def department_code(d: District, code: str) -> str:
    """Haimen keeps the plain bureau codes (CGJ …); a neighbour's are prefixed (QD-CGJ …)."""
    return code if d.code == HAIMEN else f"{d.prefix}-{code}"
