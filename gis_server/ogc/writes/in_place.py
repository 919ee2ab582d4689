"""Part 4 writes of a layer that is not versioned: the row is inserted, updated or
deleted in place, in the caller's transaction, with its audit row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import Connection, Cursor, sql

from gis_server import editing
from gis_server.auth import audit, client_ip
from gis_server.database import ident
from gis_server.errors import NotFound, PreconditionFailed
from gis_server.ogc.source import ConfigLayer
from gis_server.ogc.writes.feature import FeatureWrite, Written, read_only, validate_geometry_sql
from gis_server.ogc.writes.tags import tag_sql
from layers.base import LayerSpec

_GEOMETRY_IN = "ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)"
_AREA_KM2 = f"round((ST_Area({_GEOMETRY_IN}::geography) / 1e6)::numeric, 6)::double precision"
# The comprehensive grid that covers a point: its grid_code unless the body names one.
_COVERING_GRID = (
    "(SELECT g.code FROM grids g WHERE g.valid_to IS NULL "
    "AND g.grid_type = 'comprehensive' "
    f"AND ST_Covers(g.geom, {_GEOMETRY_IN}) "
    "ORDER BY g.code LIMIT 1)"
)


def _srid(layer: LayerSpec) -> int:
    """The table's SRID: 4326 for built-in layers, introspected for config tables."""
    return layer.srid if isinstance(layer, ConfigLayer) else 4326


def _geometry_in(layer: LayerSpec) -> str:
    """The SQL of a GeoJSON (CRS84) parameter in the table's SRID and geometry type."""
    geom = _GEOMETRY_IN if _srid(layer) == 4326 else f"ST_Transform({_GEOMETRY_IN}, {_srid(layer)})"
    return f"ST_Multi({geom})" if layer.geometry_type.startswith("Multi") else geom


def _feature_sql(layer: LayerSpec) -> sql.Composable:
    props = sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(p.name), ident(p.name))
        for p in layer.properties
        if p.derived is None
    )
    geom = ident(layer.geometry_column)
    if _srid(layer) != 4326:
        geom = sql.SQL("ST_Transform({}, 4326)").format(geom)
    return sql.SQL(
        "json_build_object('type', 'Feature', 'id', {id}, 'geometry', "
        "ST_AsGeoJSON({geom}, 9, 0)::json, 'properties', json_build_object({props}))"
    ).format(id=ident(layer.id_column), geom=geom, props=props)


def _row(cur: Cursor, layer: LayerSpec, code: Any, lock: bool) -> tuple[Any, str] | None:
    """(GeoJSON feature, ETag text) of the row, or None."""
    cur.execute(
        sql.SQL("SELECT {feat}, {tag} FROM {table} WHERE {id} = %s{lock}").format(
            feat=_feature_sql(layer),
            tag=tag_sql(layer),
            table=ident(layer.table),
            id=ident(layer.id_column),
            lock=sql.SQL(" FOR UPDATE" if lock else ""),
        ),
        (code,),
    )
    return cur.fetchone()


def _values_sql(layer: LayerSpec, values: Mapping[str, Any], geometry: str | None) -> list:
    """(column, SQL expression, bound value) triples for an INSERT or UPDATE; the
    geometry brings the columns derived from it (area, covering grid)."""
    out: list[tuple[str, sql.Composable, Any]] = [(k, sql.SQL("%s"), v) for k, v in values.items()]
    if geometry is not None:
        out.append((layer.geometry_column, sql.SQL(_geometry_in(layer)), geometry))
        if isinstance(layer, ConfigLayer):
            return out  # a config table's columns are its own: nothing is derived
        if layer.prop("area_km2"):
            out.append(("area_km2", sql.SQL(_AREA_KM2), geometry))
        if layer.prop("grid_code") and "grid_code" not in values:
            out.append(("grid_code", sql.SQL(_COVERING_GRID), geometry))
    return out


def _locked_before(cur: Cursor, write: FeatureWrite) -> Any:
    """The feature as it is, locked; 404 when absent, 412 when If-Match names another tag."""
    found = _row(cur, write.layer, write.code, lock=True)
    if found is None:
        raise NotFound(f"没有该要素 — no feature {write.code!r} in {write.layer.id}")
    before, tag = found
    if write.tags is not None and tag not in write.tags:
        raise PreconditionFailed(
            f"要素已被修改 — feature {write.code} changed since you read it (ETag {tag})",
            feature=write.code,
            current_etag=editing.etag(tag),
        )
    return before


def _insert(cur: Cursor, layer: LayerSpec, triples: list) -> Any:
    """INSERT the row; its id (the table's own when the body gave none)."""
    cur.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
            ident(layer.table),
            sql.SQL(", ").join(ident(c) for c, _, _ in triples),
            sql.SQL(", ").join(e for _, e, _ in triples),
            ident(layer.id_column),
        ),
        [v for _, _, v in triples],
    )
    return cur.fetchone()[0]


def _update(cur: Cursor, write: FeatureWrite, triples: list) -> None:
    """UPDATE the row; a PUT sets the properties its body omits back to their defaults."""
    layer = write.layer
    reset: list[str] = []
    if write.method == "PUT":
        writable = [p.name for p in layer.properties if p.name not in read_only(layer)]
        reset = [k for k in writable if k not in write.props]
    key = layer.id_column
    reset = [k for k in reset if k != key]
    sets = [sql.SQL("{} = {}").format(ident(c), e) for c, e, _ in triples if c != key]
    computed = {c for c, _, _ in triples}
    sets += [sql.SQL("{} = DEFAULT").format(ident(c)) for c in reset if c not in computed]
    if not isinstance(layer, ConfigLayer) or (layer.info and layer.info.has_updated_at):
        sets.append(sql.SQL("updated_at = clock_timestamp()"))
    if not sets:  # a PATCH of nothing on a table without updated_at: the row as it is
        return
    cur.execute(
        sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(
            ident(layer.table), sql.SQL(", ").join(sets), ident(key)
        ),
        [v for c, _, v in triples if c != key] + [write.code],
    )


def _write_row(cur: Cursor, write: FeatureWrite) -> tuple[Any, Any, tuple[Any, str] | None]:
    """(id, feature before, (feature, ETag text) after) of the write; after is None on
    DELETE."""
    layer = write.layer
    if write.geometry is not None:
        validate_geometry_sql(cur, write.geometry)
    before = None if write.method == "POST" else _locked_before(cur, write)
    if write.method == "DELETE":
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                ident(layer.table), ident(layer.id_column)
            ),
            (write.code,),
        )
        return write.code, before, None
    triples = _values_sql(layer, write.props, write.geometry)
    code = write.code
    if write.method == "POST":
        code = _insert(cur, layer, triples)
    else:
        _update(cur, write, triples)
    return code, before, _row(cur, layer, code, lock=False)


def write_in_place(conn: Connection, write: FeatureWrite) -> Written:
    """Insert, update or delete the feature and record the audit row."""
    with conn.cursor() as cur:
        code, before, after = _write_row(cur, write)
    feature, tag = after or (None, None)
    audit.record(
        conn,
        write.principal,
        write.action,
        write.layer.id,
        str(code),
        before,
        feature,
        client_ip=client_ip(write.request),
    )
    return Written(feature, None, editing.etag(tag) if tag else None, code)
