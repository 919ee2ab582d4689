"""Events (工单): a year of cases ending at the anchor, with the dispatch loop applied.

created_at follows a daily rhythm (office-hours peaks), a weekly one
(Mondays high, Sundays low) and a seasonal one (summer high, Spring Festival
low). Each case's handling time is drawn against its deadline; the case is
closed if that time has passed by the anchor's evening ("now"), otherwise it
sits at the step of 派发 → 处置 → 办结待核查 its progress has reached, and
overdue if past due_at. Places follow grid population (dense in centres).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from etl.demo.catalog import CATEGORIES, DUE_HOURS, RIVER_CATEGORIES, SOURCES, URGENT_CATEGORIES
from etl.demo.frame import Frame
from etl.demo.grids import Grids
from etl.demo.people import names, phones
from etl.demo.places import street_addresses
from etl.demo.towns import Towns

BASE_COUNT = 300_000
HOUR_WEIGHT = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.4,
        1,
        2.5,
        5,
        8.5,
        10,
        9.5,
        8,
        6,
        6.5,
        8.5,
        9,
        8.5,
        7.5,
        5.5,
        4.5,
        4,
        3.5,
        2.5,
        1.5,
    ]
)
WEEKDAY_WEIGHT = np.array([1.18, 1.08, 1.04, 1.02, 1.0, 0.8, 0.72])
OPEN_STEPS = np.array(["dispatched", "accepted", "accepted", "resolved"])


def now_of(anchor: dt.date) -> dt.datetime:
    """The demo's 'now': 17:30 Asia/Shanghai on the anchor day."""
    return dt.datetime(
        anchor.year, anchor.month, anchor.day, 17, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))
    )


def _created(rng: np.random.Generator, n: int, anchor: dt.date) -> np.ndarray:
    """Epoch seconds of creation, within the 365 days up to 'now'."""
    days = np.array([anchor - dt.timedelta(days=364 - i) for i in range(365)])
    doy = np.array([d.timetuple().tm_yday for d in days])
    w = WEEKDAY_WEIGHT[[d.weekday() for d in days]]
    w = w * (1 + 0.18 * np.cos(2 * np.pi * (doy - 200) / 365))
    w[(doy >= 20) & (doy <= 45)] *= 0.75  # around the Spring Festival
    day = rng.choice(365, size=n, p=w / w.sum())
    hour = rng.choice(24, size=n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    first = dt.datetime(
        days[0].year, days[0].month, days[0].day, tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    t = first.timestamp() + day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    now = now_of(anchor).timestamp()
    late = t >= now  # the evening of the anchor day has not happened yet: move into the day
    t[late] = now - rng.integers(60, 9 * 3600, int(late.sum()))
    return np.sort(t).astype(np.int64)


def _categories(rng: np.random.Generator, source: np.ndarray) -> np.ndarray:
    cats = list(CATEGORIES)
    base = np.array([CATEGORIES[c][0] for c in cats])
    out = np.empty(len(source), dtype=object)
    for src, (_, mult) in SOURCES.items():
        idx = np.flatnonzero(source == src)
        p = base * np.array([mult.get(c, 1.0) for c in cats])
        out[idx] = np.asarray(cats, dtype=object)[
            rng.choice(len(cats), size=len(idx), p=p / p.sum())
        ]
    return out


def _loop(rng: np.random.Generator, created: np.ndarray, priority: np.ndarray, now: float):  # noqa: ANN202
    """due_at, status and closed_at from a drawn handling time per case."""
    limit = np.vectorize(DUE_HOURS.get)(priority) * 3600.0
    # ~99 % within the limit, as the seeds report (Haimen: 99.64 % on time)
    fraction = rng.lognormal(np.log(0.3), 0.45, len(created))
    slow = rng.random(len(created)) < 0.005  # hard cases: weeks to months
    fraction[slow] = rng.lognormal(np.log(6.0), 1.0, int(slow.sum()))
    handling = np.maximum(fraction * limit, 300.0)
    closed = created + handling <= now
    progress = np.clip((now - created) / handling, 0, 0.999)
    step = np.minimum((progress * 4).astype(int), 3)
    status = np.where(closed, "closed", OPEN_STEPS[step]).astype(object)
    closed_at = np.where(closed, created + handling, np.nan)
    return created + limit, status, closed_at


def _iso(epoch: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC text for COPY; NaN becomes None (NULL)."""
    ok = ~np.isnan(epoch)
    out = np.full(len(epoch), None, dtype=object)
    stamps = np.datetime_as_string(epoch[ok].astype("datetime64[s]"), unit="s")
    out[ok] = np.char.add(stamps, "Z").astype(object)
    return out


def _kinds(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Source, category, sub-category, department and priority of each event."""
    src_names = list(SOURCES)
    src_p = np.array([SOURCES[s][0] for s in src_names])
    source = np.asarray(src_names, dtype=object)[rng.choice(len(src_names), size=n, p=src_p)]
    category = _categories(rng, source)
    sub = np.empty(n, dtype=object)
    dept = np.empty(n, dtype=object)
    urgent_p = np.full(n, 0.08)
    for cat, (_, department, subs) in CATEGORIES.items():
        idx = np.flatnonzero(category == cat)
        sub[idx] = np.asarray(subs, dtype=object)[rng.integers(0, len(subs), len(idx))]
        dept[idx] = department
        urgent_p[idx] = URGENT_CATEGORIES.get(cat, 0.08)
    u = rng.random(n)
    priority = np.where(u < urgent_p * 0.12, "critical", np.where(u < urgent_p, "urgent", "normal"))
    return source, category, sub, dept, priority


def _places(
    rng: np.random.Generator, frame: Frame, grids: Grids, category: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid index, lon and lat of each event: by population, river kinds on the shore."""
    n = len(category)
    weight = np.where(frame.land_km2 > 0.01, grids.population.astype(float), 0.0)
    shore_w = np.where(frame.shore_km2 > 0.005, frame.shore_km2, 0.0)
    river = np.isin(category, RIVER_CATEGORIES) & (shore_w.sum() > 0)  # inland: on land
    which = rng.choice(len(weight), size=n, p=weight / weight.sum())
    if river.any():
        which[river] = rng.choice(len(weight), size=int(river.sum()), p=shore_w / shore_w.sum())
    lon, lat = np.empty(n), np.empty(n)
    lon[~river], lat[~river] = frame.sample(rng, which[~river])
    lon[river], lat[river] = frame.sample(rng, which[river], shore=True)
    return which, lon, lat


def build_events(
    rng: np.random.Generator,
    frame: Frame,
    grids: Grids,
    towns: Towns,
    scale: float,
    anchor: dt.date,
    prefix: str = "HM",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and their private contacts (citizen channels only); codes start with `prefix`."""
    n = max(1, round(BASE_COUNT * scale))
    created = _created(rng, n, anchor).astype(float)
    source, category, sub, dept, priority = _kinds(rng, n)
    due, status, closed_at = _loop(rng, created, priority, now_of(anchor).timestamp())
    which, lon, lat = _places(rng, frame, grids, category)
    town = grids.town[which]
    address = towns.name[town].astype(object) + street_addresses(rng, n)
    year = anchor.year % 100
    events = pd.DataFrame(
        {
            "code": [f"{prefix}{year:02d}{i:07d}" for i in range(1, n + 1)],
            "title": address + sub,
            "source": source,
            "category": category,
            "subcategory": sub,
            "status": status,
            "priority": priority,
            "grid_code": grids.code[which],
            "town_code": towns.code[town],
            "department": dept,
            "address": address,
            "created_at": _iso(created),
            "due_at": _iso(due),
            "closed_at": _iso(closed_at),
            "lon": lon,
            "lat": lat,
        }
    )
    citizen = np.flatnonzero(np.isin(source, ["hotline_12345", "wechat"]))
    contacts = pd.DataFrame(
        {
            "event_code": events["code"].to_numpy()[citizen],
            "reporter_name": names(rng, len(citizen)),
            "reporter_phone": phones(rng, len(citizen)),
        }
    )
    return events, contacts
