"""Turn cell values (text, Excel numbers, dates) into the column's type, or say why not."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from layers import vocab

SHANGHAI = ZoneInfo("Asia/Shanghai")
_INT = re.compile(r"^[+-]?\d+(\.0*)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class CoerceError(ValueError):
    """A value that does not fit its column; the message is shown in the reject report."""


def is_blank(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))  # Excel stores codes as numbers: 320614001.0 -> "320614001"
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.isoformat()
    return str(value).strip()


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise CoerceError("不是整数 — not an integer")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if float(value).is_integer():
            return int(value)
        raise CoerceError(f"不是整数 — not an integer: {value!r}")
    text = str(value).strip().replace(",", "")
    if not _INT.match(text):
        raise CoerceError(f"不是整数 — not an integer: {value!r}")
    return int(float(text)) if "." in text else int(text)


def _number(value: Any) -> float:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value)
    try:
        result = float(str(value).strip().replace(",", ""))
    except ValueError:
        raise CoerceError(f"不是数字 — not a number: {value!r}") from None
    if not math.isfinite(result):
        raise CoerceError(f"不是有限数字 — not a finite number: {value!r}")
    return result


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip().replace("/", "-")
        if m := _COMPACT_DATE.match(text):
            text = "-".join(m.groups())
        try:
            result = dt.datetime.fromisoformat(text)
        except ValueError:
            raise CoerceError(f"不是日期时间 — not a date/time: {value!r}") from None
    return result if result.tzinfo else result.replace(tzinfo=SHANGHAI)


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    stamp = _datetime(value)
    if (stamp.hour, stamp.minute, stamp.second) != (0, 0, 0):
        raise CoerceError(f"不是日期 — not a date: {value!r}")
    return stamp.date()


def _labels_for(allowed: tuple[str, ...]) -> dict[str, str]:
    """Chinese label -> code for the vocabulary whose codes are `allowed` (综合网格 -> comprehensive)."""
    for table in vars(vocab).values():
        if isinstance(table, dict) and set(table) == set(allowed):
            return {label: code for code, label in table.items()}
    return {}


def coerce(value: Any, sql_type: str, enum: tuple[str, ...] | None = None) -> Any:
    """`value` as a Python value for a column of `sql_type`; None for blanks."""
    if is_blank(value):
        return None
    if sql_type in ("integer", "bigint", "smallint"):
        return _integer(value)
    if sql_type in ("double precision", "real", "numeric"):
        return _number(value)
    if sql_type == "date":
        return _date(value)
    if sql_type.startswith("timestamp"):
        return _datetime(value)
    text = _text(value)
    if enum:
        if text in enum:
            return text
        code = _labels_for(enum).get(text) or (text.lower() if text.lower() in enum else None)
        if code is None:
            raise CoerceError(f"取值不在 {list(enum)} 中 — {text!r} is not one of {list(enum)}")
        return code
    return text
