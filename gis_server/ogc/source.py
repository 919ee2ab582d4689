"""What the SQL builders need to know about one collection: table, columns, time, keys.

Built from a LayerSpec (the registry is the only truth about which columns are
public: reporter data is never listed) or from an extra PostGIS table/view in
settings.collections (columns introspected once, at start-up).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psycopg

from gis_server.settings import ExtraCollection
from layers.base import LayerSpec, Prop


@dataclass(frozen=True)
class Column:
    """A public property: JSON-schema type/format decide how values are parsed and compared."""

    name: str
    type: str  # string | integer | number | boolean
    format: str | None = None  # date-time | date
    title: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TableInfo:
    """What Part 4 writes to a `collections:` table need beyond what reads need
    (introspected once, like the columns)."""

    geometry_type: str  # GeoJSON name (Point, MultiPolygon …), "Geometry" for any
    data_types: tuple[tuple[str, str], ...]  # (column, PostgreSQL data_type)
    indexed: frozenset[str]  # columns in an index: a too-long key is a database error
    generated: frozenset[str]  # identity ALWAYS / GENERATED columns: never written
    id_default: bool  # the id column has a default (serial, identity): POST may omit it
    has_updated_at: bool  # an `updated_at` column, set on every update
    writable: bool  # a table (not a view)

    def data_type(self, column: str) -> str:
        return dict(self.data_types).get(column, "text")


@dataclass(frozen=True)
class Source:
    id: str
    table: str
    id_column: str
    id_type: str  # string | integer
    geometry_column: str
    srid: int
    columns: tuple[Column, ...]
    order_key: tuple[str, ...]  # id first, then columns that make the order unique
    time_start: str | None = None
    time_end: str | None = None
    current_filter: str | None = None  # trusted SQL from the layer registry
    default_sort: str | None = None
    title: str = ""
    mercator_column: str | None = None  # stored EPSG:3857 copy of the geometry, if any
    # derived properties: (name, trusted SQL over the row), computed when read (`relation`)
    derived: tuple[tuple[str, str], ...] = ()
    # answers change with the clock alone (derived properties): validators turn over this often
    clock_s: int = 0
    table_info: TableInfo | None = None  # config collections: what a write needs to know

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def temporal(self) -> bool:
        return self.time_start is not None


# A published collection's Source by id, NotFound for an unknown one (the OGC service's
# `source_async`): what the tile routes get instead of the whole service.
SourceLookup = Callable[[str], Awaitable[Source]]


DERIVED_CLOCK_S = 10  # how stale a derived `online` may be in a cached answer (+ max-age)


def from_layer(
    layer: LayerSpec, key_columns: tuple[str, ...] = (), offline_after_s: int = 300
) -> Source:
    columns = tuple(Column(p.name, p.type, p.format, p.title, p.enum) for p in layer.properties)
    derived = tuple(
        (p.name, p.derived.format(offline_after_s=int(offline_after_s)))
        for p in layer.properties
        if p.derived is not None
    )
    return Source(
        derived=derived,
        clock_s=DERIVED_CLOCK_S if derived else 0,
        id=layer.id,
        table=layer.table,
        id_column=layer.id_column,
        id_type=layer.id_type,
        geometry_column=layer.geometry_column,
        srid=4326,
        columns=columns,
        order_key=_order_key(layer.id_column, key_columns),
        time_start=layer.time_start,
        time_end=layer.time_end,
        current_filter=layer.current_filter,
        default_sort=layer.default_sort,
        title=layer.title,
        mercator_column=layer.mercator_column,
    )


def _order_key(id_column: str, key_columns: tuple[str, ...]) -> tuple[str, ...]:
    return (id_column, *(c for c in key_columns if c != id_column))


_INTEGER = {"smallint", "integer", "bigint"}
_NUMBER = {"real", "double precision", "numeric"}


def _json_type(data_type: str) -> tuple[str, str | None]:
    if data_type in _INTEGER:
        return "integer", None
    if data_type in _NUMBER:
        return "number", None
    if data_type == "boolean":
        return "boolean", None
    if data_type.startswith("timestamp"):
        return "string", "date-time"
    if data_type == "date":
        return "string", "date"
    return "string", None


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return schema or "public", name


def key_columns(conn: psycopg.Connection, table: str) -> tuple[str, ...]:
    """Primary-key columns of a table (none for a view): tie-breakers for stable paging."""
    schema, name = _split(table)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT a.attname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indisprimary AND n.nspname = %s AND c.relname = %s ORDER BY a.attnum",
            (schema, name),
        )
        return tuple(r[0] for r in cur.fetchall())


_GEOJSON_TYPES = {
    t.upper(): t
    for t in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
}


def _table_info(
    conn: psycopg.Connection, extra: ExtraCollection, rows: list, geometry_type: str | None
) -> TableInfo:
    schema, name = _split(extra.table)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.relkind IN ('r', 'p'), coalesce(array_agg(DISTINCT a.attname) "
            "FILTER (WHERE a.attname IS NOT NULL), '{}') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid "
            "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
            "WHERE n.nspname = %s AND c.relname = %s GROUP BY c.relkind",
            (schema, name),
        )
        writable, indexed = cur.fetchone()
    generated = frozenset(r[0] for r in rows if r[4] == "ALWAYS" or r[5] == "ALWAYS")
    id_row = next(r for r in rows if r[0] == extra.id_column)
    return TableInfo(
        geometry_type=_GEOJSON_TYPES.get((geometry_type or "").upper(), "Geometry"),
        data_types=tuple((r[0], r[1]) for r in rows),
        indexed=frozenset(indexed),
        generated=generated,
        id_default=id_row[3] is not None or id_row[4] == "YES" or extra.id_column in generated,
        has_updated_at=any(r[0] == "updated_at" and r[1].startswith("timestamp") for r in rows),
        writable=bool(writable),
    )


def from_extra(conn: psycopg.Connection, extra: ExtraCollection) -> Source:
    """Introspect an extra table/view: every non-geometry column becomes a property."""
    schema, name = _split(extra.table)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type, udt_name, column_default, is_identity, "
            "CASE WHEN is_identity = 'YES' THEN identity_generation ELSE is_generated END "
            "FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, name),
        )
        rows = cur.fetchall()
        if not rows:
            raise LookupError(f"collections: table {extra.table!r} not found")
        cur.execute(
            "SELECT srid, type FROM geometry_columns WHERE f_table_schema = %s "
            "AND f_table_name = %s AND f_geometry_column = %s",
            (schema, name, extra.geometry_column),
        )
        srid_row = cur.fetchone()
    names = {r[0] for r in rows}
    for col in (extra.id_column, extra.geometry_column, extra.time_column):
        if col is not None and col not in names:
            raise LookupError(f"collections: {extra.id}: column {col!r} not in {extra.table}")
    columns = tuple(
        Column(r[0], *_json_type(r[1])) for r in rows if r[2] not in ("geometry", "geography")
    )
    info = _table_info(conn, extra, rows, srid_row[1] if srid_row else None)
    if extra.editable and not info.writable:
        raise LookupError(f"collections: {extra.id}: editable, but {extra.table} is not a table")
    id_col = next(c for c in columns if c.name == extra.id_column)
    return Source(
        id=extra.id,
        table=extra.table,
        id_column=extra.id_column,
        id_type="integer" if id_col.type == "integer" else "string",
        geometry_column=extra.geometry_column,
        srid=(srid_row[0] if srid_row and srid_row[0] else 4326),
        columns=columns,
        order_key=_order_key(extra.id_column, key_columns(conn, extra.table)),
        time_start=extra.time_column,
        title=extra.title or extra.id,
        table_info=info,
    )


@dataclass(frozen=True)
class ConfigLayer(LayerSpec):
    """The LayerSpec of a `collections:` table: what the write path (ogc/writes/) and the
    OpenAPI document read from any layer, plus the table facts only such a table needs
    (its SRID, introspected column types and keys; its ETag is a hash of the row)."""

    srid: int = 4326
    info: TableInfo | None = field(default=None, compare=False)


def as_layer(source: Source, extra: ExtraCollection | None = None) -> ConfigLayer:
    """The LayerSpec of a `collections:` table, so what is generated from layers (the OGC
    OpenAPI document, Part 4 writes when `editable`) covers it too; its titles are the
    column names."""
    description = extra.description if extra else ""
    info = source.table_info
    return ConfigLayer(
        id=source.id,
        table=source.table,
        title_zh=source.title,
        title_en=source.title,
        description_zh=description or source.title,
        description_en=description or source.title,
        geometry_type=info.geometry_type if info else "Geometry",
        properties=tuple(Prop(c.name, c.type, c.name, c.name, c.format) for c in source.columns),
        id_column=source.id_column,
        id_type=source.id_type,
        geometry_column=source.geometry_column,
        time_start=source.time_start,
        write_role=extra.write_role if extra is not None and extra.editable else None,
        srid=source.srid,
        info=info,
    )
