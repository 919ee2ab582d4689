"""COPY loader: data frames into tables through one in-memory CSV per call (never row by row)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import psycopg2.extensions
import shapely
from psycopg2 import sql


def ewkb_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Hex EWKB (SRID 4326) of points: what PostGIS parses fastest from text."""
    return shapely.to_wkb(shapely.points(lon, lat), hex=True, include_srid=True)


def ewkb(geoms: np.ndarray) -> np.ndarray:
    """Hex EWKB (SRID 4326) of lon/lat geometries."""
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)


def copy_frame(conn: psycopg2.extensions.connection, table: str, frame: pd.DataFrame) -> int:
    """COPY every column of `frame` (named as the table's columns) into `table`."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, na_rep="")
    buf.seek(0)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    )
    with conn.cursor() as cur:
        cur.copy_expert(stmt.as_string(conn), buf)
    return len(frame)
