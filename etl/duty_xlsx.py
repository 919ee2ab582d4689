"""Read a duty list (三定清单) from XLSX: one rule per row, Chinese or English headers.

The first sheet's first row holds the headers; blank rows are skipped. What
the cells mean is checked by layers/dispatch/duties.import_rules, which names
the row of a bad cell.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook

HEADERS = {
    "大类": "category", "事件大类": "category", "category": "category",
    "小类": "subcategory", "事件小类": "subcategory", "subcategory": "subcategory",
    "镇街": "town_code", "镇街编码": "town_code", "town_code": "town_code",
    "责任部门": "department_code", "责任部门编码": "department_code", "部门编码": "department_code",
    "department_code": "department_code",
    "时限(小时)": "time_limit_hours", "时限（小时）": "time_limit_hours", "办理时限": "time_limit_hours",
    "time_limit_hours": "time_limit_hours",
    "紧急时限": "urgent_hours", "urgent_hours": "urgent_hours",
    "特急时限": "critical_hours", "critical_hours": "critical_hours",
    "特事特办": "same_day", "same_day": "same_day",
    "备注": "note", "note": "note",
}  # fmt: skip


class DutyFileError(ValueError):
    """The file is not an XLSX duty list (unreadable, or a header is unknown)."""


def read_rules(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """(spreadsheet row number, {field: cell value}) for every non-blank row."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise DutyFileError(
            f"不是有效的 XLSX 文件 — not a readable XLSX file ({type(exc).__name__})"
        ) from None
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None) or ()
    fields = []
    for i, name in enumerate(header, start=1):
        key = str(name).strip() if name is not None else ""
        if key and key not in HEADERS:
            raise DutyFileError(f"第 1 行第 {i} 列表头未知 — unknown header {key!r} in column {i}")
        fields.append(HEADERS.get(key))
    if "category" not in fields or "department_code" not in fields:
        raise DutyFileError(
            "表头须含 大类 和 责任部门编码 — headers need category and department_code"
        )
    for number, row in enumerate(rows, start=2):
        if all(v is None or str(v).strip() == "" for v in row):
            continue
        yield number, {f: v for f, v in zip(fields, row, strict=False) if f}
    book.close()
