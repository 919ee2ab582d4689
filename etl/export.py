"""`onemap export`: a layer out to the formats GIS staff open (GeoPackage, Shapefile
with a UTF-8 .cpg, GeoJSON, CSV with lon/lat, Excel). Grids: current versions
unless all versions are asked for. Exports re-import unchanged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg2
import shapely
from psycopg2 import sql

from etl.crs import WGS84, from_wgs84, parse_crs
from etl.errors import UsageError
from layers.registry import BY_ID

FORMATS = {
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
    ".geojson": "GeoJSON",
    ".csv": None,
    ".xlsx": None,
}


def fetch(dsn: str, layer_id: str, all_versions: bool = False) -> gpd.GeoDataFrame:
    """The layer's public properties and geometry (EPSG:4326) as a GeoDataFrame."""
    if layer_id not in BY_ID:
        raise UsageError(
            f"没有图层 {layer_id!r} — no layer {layer_id!r}; layers: {', '.join(BY_ID)}"
        )
    spec = BY_ID[layer_id]
    names = [p.name for p in spec.properties if p.derived is None]  # derived: not stored
    where = (
        sql.SQL(spec.current_filter)
        if spec.current_filter and not all_versions
        else sql.SQL("true")
    )
    query = sql.SQL(
        "SELECT {cols}, ST_AsBinary({geom}) FROM {table} WHERE {where} ORDER BY {key}"
    ).format(
        cols=sql.SQL(", ").join(sql.Identifier(n) for n in names),
        geom=sql.Identifier(spec.geometry_column),
        table=sql.Identifier(spec.table),
        where=where,
        key=sql.SQL(", ").join(
            sql.Identifier(k)
            for k in ([spec.id_column, "version"] if "version" in names else [spec.id_column])
        ),
    )
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET timezone = 'Asia/Shanghai'")
        cur.execute(query)
        records = cur.fetchall()
    conn.close()
    frame = pd.DataFrame([r[:-1] for r in records], columns=names)
    geoms = shapely.from_wkb([bytes(r[-1]) if r[-1] is not None else None for r in records])
    return gpd.GeoDataFrame(frame, geometry=np.asarray(geoms, dtype=object), crs=WGS84)


def _plain_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates and times as ISO text (Shapefile/CSV/Excel have no time zone type)."""
    out = frame.copy()
    for col in out.columns:
        if col == "geometry":
            continue
        sample = out[col].dropna()
        if len(sample) and isinstance(sample.iloc[0], dt.date | dt.datetime | pd.Timestamp):
            out[col] = out[col].map(
                lambda v: v.isoformat() if v is not None and not pd.isna(v) else None
            )
    return out


def _tabular(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Points as lon/lat columns, other geometries as a WKT column."""
    table = pd.DataFrame(_plain_times(frame).drop(columns="geometry"))
    geoms = frame.geometry.values
    if len(frame) and all(g is None or g.geom_type == "Point" for g in geoms):
        table["lon"] = [g.x if g is not None else None for g in geoms]
        table["lat"] = [g.y if g is not None else None for g in geoms]
    else:
        table["wkt"] = [g.wkt if g is not None else None for g in geoms]
    return table


def export_layer(
    dsn: str, layer_id: str, path: str | Path, *, crs: str | None = None, all_versions: bool = False
) -> int:
    """Write the layer to `path` (format from the suffix); returns the feature count."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"不支持的导出格式 — unsupported export format {suffix!r}; use {', '.join(FORMATS)}"
        )
    frame = fetch(dsn, layer_id, all_versions)
    if crs:
        target = parse_crs(crs)
        frame = gpd.GeoDataFrame(
            frame.drop(columns="geometry"),
            geometry=from_wgs84(np.asarray(frame.geometry.values, dtype=object), target),
            crs=None if target.special else target.crs,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        _tabular(frame).to_csv(path, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        _tabular(frame).to_excel(path, index=False, sheet_name=layer_id)
    elif suffix == ".shp":
        _plain_times(frame).to_file(path, driver=FORMATS[suffix], encoding="UTF-8")
    else:
        frame.to_file(path, driver=FORMATS[suffix], layer=layer_id)
    return len(frame)
