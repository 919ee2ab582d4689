"""The monthly assessment workbook (考核): one sheet per ranking, Chinese headers, print-ready."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

UNIT_COLUMNS = [
    ("rank", "名次"), ("key", "单位编码"), ("name", "单位名称"), ("score", "总分"),
    ("hotline_score", "12345热线得分"), ("grid_score", "网格事件得分"), ("hotline", "热线件数"),
    ("h_on_time", "热线按时办结率"), ("h_closure", "热线办结率"), ("h_satisfaction", "热线满意率"),
    ("grid", "网格件数"), ("g_on_time", "网格按时办结率"), ("g_closure", "网格办结率"),
]  # fmt: skip
WORKER_COLUMNS = [
    ("rank", "名次"), ("worker", "网格员"), ("grid_code", "网格"), ("reported", "上报件数"),
    ("quality", "质量(无退回办结率)"), ("difficulty", "难度(平均紧急程度)"), ("score", "得分"),
]  # fmt: skip
RATES = {"h_on_time", "h_closure", "h_satisfaction", "g_on_time", "g_closure", "quality"}


def _sheet(
    ws: Worksheet, title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]
) -> None:
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([zh for _, zh in columns])
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for row in rows:
        ws.append(
            [
                None if row.get(k) is None else float(row[k]) if k in RATES else row.get(k)
                for k, _ in columns
            ]
        )
    for r in ws.iter_rows(min_row=3):
        for (key, _), cell in zip(columns, r, strict=False):
            if key in RATES:
                cell.number_format = "0.00%"
    for i, (_, zh) in enumerate(columns, start=1):
        ws.column_dimensions[ws.cell(2, i).column_letter].width = max(10, len(zh) * 2 + 2)
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def write(path: Path, month: str, towns: list, departments: list, workers: list) -> None:
    book = Workbook()
    _sheet(book.active, f"{month} 镇街考核排名(百分制)", UNIT_COLUMNS, towns)
    book.active.title = "镇街排名"
    _sheet(
        book.create_sheet("部门排名"), f"{month} 部门考核排名(百分制)", UNIT_COLUMNS, departments
    )
    _sheet(book.create_sheet("网格员排名"), f"{month} 网格员上报排名", WORKER_COLUMNS, workers)
    book.save(path)
