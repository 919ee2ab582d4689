"""Synthetic people: names and phone numbers that are plausible but obviously not real.

Phone numbers start with 100, a prefix no Chinese mobile or landline number
uses, so a demo number can never reach a person.
"""

from __future__ import annotations

import numpy as np

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程施沈顾陆茅倪瞿龚"
)
GIVEN = list(
    "建国华明丽军伟芳秀英敏静强磊洋勇艳杰娟涛超霞平刚桂兰红燕辉鹏春梅玉海云飞晓雪峰志新宏亮"
)


def names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Two- or three-character Chinese names."""
    s = np.asarray(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.asarray(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.asarray(GIVEN + [""] * 12)[rng.integers(0, len(GIVEN) + 12, n)]
    return np.char.add(np.char.add(s, g1), g2).astype(object)


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Numbers like 100-3821-0457 (prefix 100 is unassigned: obviously synthetic)."""
    a = rng.integers(0, 10_000, n)
    b = rng.integers(0, 10_000, n)
    return np.array([f"100-{x:04d}-{y:04d}" for x, y in zip(a, b, strict=True)], dtype=object)
