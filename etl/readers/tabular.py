"""Spreadsheets GIS staff get from other departments: CSV and .xlsx with coordinate
columns (经度/纬度, lon/lat, X/Y) or a WKT column."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from etl.colnames import X_NAMES, Y_NAMES, normalise_name
from etl.errors import SourceError, UsageError
from etl.readers import guards
from etl.readers.base import Source
from etl.readers.encoding import decode_text

WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "几何")


def find_column(columns: list[str], wanted: str | None, names: tuple[str, ...]) -> str | None:
    """The column named `wanted`, else the first whose name is one of `names`."""
    if wanted:
        if wanted not in columns:
            raise UsageError(f"没有列 {wanted!r} — no column {wanted!r}; columns: {columns}")
        return wanted
    by_norm = {normalise_name(c): c for c in columns}
    return next((by_norm[n] for n in names if n in by_norm), None)


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(",", "")
    return float(text) if text else None


def points_from_columns(
    frame: pd.DataFrame, x: str | None, y: str | None
) -> tuple[np.ndarray | None, list[str | None] | None, list[str]]:
    """Point geometries from coordinate (or WKT) columns; per-row errors instead of failing."""
    columns = [str(c) for c in frame.columns]
    xcol, ycol = find_column(columns, x, X_NAMES), find_column(columns, y, Y_NAMES)
    if not (xcol and ycol):
        wkt = find_column(columns, None, WKT_NAMES)
        if wkt is None:
            return None, None, []
        geoms, errors = [], []
        for value in frame[wkt]:
            try:
                geoms.append(shapely.from_wkt(str(value)) if value not in (None, "") else None)
                errors.append(None)
            except shapely.errors.GEOSException:
                geoms.append(None)
                errors.append(f"WKT 无法解析 — bad WKT in column {wkt}")
        return np.array(geoms, dtype=object), errors, [wkt]
    geoms, errors = [], []
    for xv, yv in zip(frame[xcol], frame[ycol], strict=True):
        try:
            fx, fy = _number(xv), _number(yv)
        except ValueError:
            geoms.append(None)
            errors.append(
                f"坐标不是数字 — coordinate is not a number: {xcol}={xv!r}, {ycol}={yv!r}"
            )
            continue
        if fx is None or fy is None:
            geoms.append(None)
            errors.append(f"缺少坐标 — missing coordinate in {xcol}/{ycol}")
            continue
        geoms.append(shapely.Point(fx, fy))
        errors.append(None)
    return np.array(geoms, dtype=object), errors, [xcol, ycol]


def _blank_to_none(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda v: None if (isinstance(v, str) and not v.strip()) else v)


def _source(path: Path, frame: pd.DataFrame, rows: np.ndarray, x, y, **kw: Any) -> Source:
    geometry, errors, used = points_from_columns(frame, x, y)
    attributes = frame.drop(columns=used).reset_index(drop=True)
    return Source(path, attributes, geometry, None, rows, geom_errors=errors, **kw)


def read_csv(path: Path, *, x: str | None, y: str | None, encoding: str | None) -> Source:
    """CSV in UTF-8 or GB18030 with any common delimiter; every value read as text."""
    raw = path.read_bytes()
    try:
        text, detected = (raw.decode(encoding), encoding) if encoding else decode_text(raw)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"无法识别文本编码 — cannot decode text: {exc}", file=str(path)) from exc
    if "\x00" in text:
        raise SourceError("不是文本文件 — not a text file (NUL bytes)", file=str(path))
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    header = next(csv.reader([text.split("\n", 1)[0]], delimiter=sep), [])
    guards.check_columns(len(header), str(path))
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"CSV 格式错误 — malformed CSV: {exc}", file=str(path)) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = _blank_to_none(frame)
    rows = np.arange(2, len(frame) + 2)  # line numbers: the header is line 1
    return _source(path, frame, rows, x, y, encoding=detected)


def read_xlsx(path: Path, *, sheet: str | None, x: str | None, y: str | None) -> Source:
    """The one data sheet of a workbook (or `sheet`); cell values keep their Excel types."""
    import openpyxl

    guards.check_zip_file(path)  # an .xlsx is a zip: bombs are refused before openpyxl
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException
        raise SourceError(
            f"无法读取 Excel 文件 — cannot read workbook: {exc}", file=str(path)
        ) from exc
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise UsageError(
                f"没有工作表 {sheet!r} — no sheet {sheet!r}; sheets: {', '.join(names)}",
                file=str(path),
            )
        if sheet is None:
            with_data = [n for n in names if (book[n].max_row or 0) > 1]
            if len(with_data) > 1:
                raise UsageError(
                    "有多个工作表,请用 --table 指定 — several sheets, choose one with --table: "
                    + ", ".join(with_data),
                    file=str(path),
                )
            sheet = with_data[0] if with_data else names[0]
        guards.check_columns(book[sheet].max_column or 0, str(path))
        values = list(book[sheet].iter_rows(values_only=True))
    finally:
        book.close()
    if not values:
        raise SourceError(f"工作表为空 — sheet {sheet!r} is empty", file=str(path))
    header = [
        str(h).strip() if h is not None else f"column{i + 1}" for i, h in enumerate(values[0])
    ]
    body = [r for r in values[1:] if any(v not in (None, "") for v in r)]
    line_numbers = [i + 2 for i, r in enumerate(values[1:]) if any(v not in (None, "") for v in r)]
    frame = _blank_to_none(pd.DataFrame(body, columns=header, dtype=object))
    return _source(path, frame, np.array(line_numbers, dtype=int), x, y, table=sheet)
