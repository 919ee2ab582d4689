"""Place names for labels and addresses: road names typical of Haimen's towns."""

from __future__ import annotations

import numpy as np

ROADS = (
    "人民路 解放路 长江路 黄海路 北京路 南京路 上海路 浦江路 秀山路 青龙路 东洲路 嘉陵江路 珠江路 "
    "钱塘江路 湘江路 黄浦江路 淮河路 汉江路 新海路 海门大道 金沙路 丝绸路 星湖路 江海路 沿江公路 "
    "通启路 海防路 厦门路 广州路 深圳路 育才路 富民路 工农路 建设路 文化路 中南路 北海路 东海路 "
    "香港路 灵甸路 天补路 万年路 常乐路 悦来路 正余路 余东路 四甲路 三星路 叠石桥路 临江大道"
).split()


def crossings(rng: np.random.Generator, n: int) -> np.ndarray:
    """'人民路与长江路交叉口' style locations (two different roads)."""
    a = rng.integers(0, len(ROADS), n)
    b = (a + rng.integers(1, len(ROADS), n)) % len(ROADS)
    roads = np.asarray(ROADS, dtype=object)
    return roads[a] + "与" + roads[b] + "交叉口"


def street_addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    """'青龙路128号' style addresses, or a crossing for one in four."""
    roads = np.asarray(ROADS, dtype=object)[rng.integers(0, len(ROADS), n)]
    numbers = rng.integers(1, 899, n).astype(str).astype(object)
    out = roads + numbers + "号"
    cross = rng.random(n) < 0.25
    out[cross] = crossings(rng, int(cross.sum()))
    return out
