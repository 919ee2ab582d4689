"""The fleet: sanitation, muck and sweeper trucks in their towns; patrol boats, a few fishing
boats and cargo ships on the river (the vessels 禁捕区-at-night judges)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from etl.demo.districts import HAIMEN_DISTRICT, District
from etl.demo.geography import Geography
from etl.demo.sampling import points_in
from etl.demo.towns import Towns

BASE = {"sanitation": 240, "sweeper": 120, "muck": 120, "patrol_boat": 20, "fishing_boat": 6,
        "cargo_ship": 4}  # fmt: skip
PREFIX = {"sanitation": "SAN", "sweeper": "SWP", "muck": "MUK", "patrol_boat": "BOAT",
          "fishing_boat": "FSH", "cargo_ship": "CGO"}  # fmt: skip
PLATE_LETTERS = np.array(list("ABCDEFGHJKLMNPQRSTUVWXY"))
MUCK_COMPANIES = (
    "南通海晟建材运输有限公司",
    "海门通达土方工程有限公司",
    "海门顺安渣土运输有限公司",
)
BOAT_OWNERS = (
    "海门区农业农村局渔政执法大队",
    "海门区长江禁捕退捕执法大队",
    "海门区水利局河道管理所",
)
VESSEL_PLATES = {
    "patrol_boat": "海门巡{:03d}",
    "fishing_boat": "苏海渔{:05d}",
    "cargo_ship": "苏海门货{:04d}",
}
VESSEL_OWNERS = {"fishing_boat": ("海门区个体渔船",), "cargo_ship": ("南通江海航运有限公司",)}


@dataclass(frozen=True)
class Fleet:
    code: np.ndarray
    plate: np.ndarray
    kind: np.ndarray
    company: np.ndarray
    town: np.ndarray  # index into Towns
    area: np.ndarray  # metric polygon each vehicle moves in
    start_x: np.ndarray
    start_y: np.ndarray


def scaled_counts(scale: float) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in BASE.items()}


def _work_areas(geo: Geography, towns: Towns) -> np.ndarray:
    """Each town's largest piece of land, 50 m in from its edge, prepared for fast tests."""
    out = []
    for g in towns.geom:
        parts = shapely.get_parts(shapely.buffer(shapely.intersection(g, geo.land), -50))
        part = parts[int(np.argmax(shapely.area(parts)))] if len(parts) else shapely.Polygon()
        shapely.prepare(part)
        out.append(part)
    return np.array(out, dtype=object)


def _local(text: str, d: District) -> str:
    """Haimen's company or plate wording for district `d` (海门区… → 启东市…, 海门… → 启东…)."""
    if d.code == HAIMEN_DISTRICT.code:
        return text
    return text.replace("海门区", d.name).replace("海门", d.short).replace("苏海", d.short)


def build_fleet(
    rng: np.random.Generator,
    geo: Geography,
    towns: Towns,
    scale: float,
    district: District = HAIMEN_DISTRICT,
) -> Fleet:
    """The district's vehicles (codes prefixed by its prefix); no vessels without a channel."""
    areas = _work_areas(geo, towns)
    land_km2 = shapely.area(areas) / 1e6
    weight = land_km2 * np.where(towns.kind == "farm", 0.2, 1.0)
    codes, plates, kinds, companies, town_idx, area, xs, ys = ([] for _ in range(8))
    numbers = rng.permutation(100_000)
    used = 0
    for kind, n in scaled_counts(scale).items():
        if kind in VESSEL_PLATES and shapely.is_empty(geo.channel):
            continue
        for seq in range(1, n + 1):
            codes.append(f"{district.prefix}-{PREFIX[kind]}-{seq:04d}")
            kinds.append(kind)
            if kind in VESSEL_PLATES:
                plates.append(
                    _local(VESSEL_PLATES[kind], district).format(
                        seq * 37 if kind != "patrol_boat" else seq
                    )
                )
                owners = VESSEL_OWNERS.get(kind, BOAT_OWNERS)
                companies.append(_local(owners[seq % len(owners)], district))
                poly = geo.channel
            else:
                num = numbers[used]
                used += 1
                plates.append(
                    f"{district.plate}·{PLATE_LETTERS[num % len(PLATE_LETTERS)]}{num % 10_000:04d}"
                )
                k = int(rng.choice(len(towns.code), p=weight / weight.sum()))
                town_idx.append(k)
                companies.append(
                    _local(MUCK_COMPANIES[seq % len(MUCK_COMPANIES)], district)
                    if kind == "muck"
                    else f"{towns.name[k]}环境卫生管理所"
                )
                poly = areas[k]
            x, y = points_in(rng, poly, 1)
            xs.append(x[0])
            ys.append(y[0])
            area.append(poly)
            if kind in VESSEL_PLATES:
                dist = shapely.distance(towns.geom, shapely.Point(x[0], y[0]))
                town_idx.append(int(np.argmin(dist)))
    return Fleet(
        code=np.array(codes, dtype=object),
        plate=np.array(plates, dtype=object),
        kind=np.array(kinds, dtype=object),
        company=np.array(companies, dtype=object),
        town=np.array(town_idx),
        area=np.array(area, dtype=object),
        start_x=np.array(xs),
        start_y=np.array(ys),
    )
