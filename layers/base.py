"""The description every layer gives of itself, read by the server, ETL and console.

A layer's behaviour (versioned writes, If-Match, how files are imported, where the
console lists it) is a field here, so code asks the spec and never the layer id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, String, Table


@dataclass(frozen=True)
class Prop:
    """A public property of a layer: served by the OGC API and listed as queryable."""

    name: str
    type: str  # JSON schema type: string | integer | number | boolean
    title_zh: str
    title_en: str
    format: str | None = None  # date-time | date
    enum: tuple[str, ...] | None = None
    # Computed when read, never stored (so never imported, exported or written): trusted SQL
    # over the table's columns; `{offline_after_s}` is filled from feed.offline_after_s.
    derived: str | None = None
    description: str = ""  # what a derived property means (the OpenAPI schema says it)

    @property
    def title(self) -> str:
        return f"{self.title_zh} {self.title_en}"


# SQLAlchemy type -> (JSON schema type, format); the first match wins (Date before
# String, Integer before Float: none of them subclasses another, but keep it explicit).
_JSON_TYPES: tuple[tuple[type, str, str | None], ...] = (
    (DateTime, "string", "date-time"),
    (Date, "string", "date"),
    (Boolean, "boolean", None),
    (Integer, "integer", None),
    (Float, "number", None),
    (String, "string", None),
)


def public(table: Table, **titles: tuple[str, str]) -> tuple[Prop, ...]:
    """The public properties of a layer, in the order given: `name=(中文, English)`.

    Types, formats and enums come from the table's columns (layers/tables/), so
    the registry names which columns are public and their titles, never their types.
    """
    props = []
    for name, (title_zh, title_en) in titles.items():
        column = table.columns[name]
        kind, fmt = next((k, f) for t, k, f in _JSON_TYPES if isinstance(column.type, t))
        enum = column.info.get("enum")
        props.append(Prop(name, kind, title_zh, title_en, fmt, tuple(enum) if enum else None))
    return tuple(props)


def derived(
    name: str, kind: str, titles: tuple[str, str], expression: str, description: str
) -> Prop:
    """A public property computed in SQL when read (e.g. a vehicle's `online`), queryable
    and sortable like a column; its value may change with the clock alone."""
    return Prop(name, kind, *titles, derived=expression, description=description)


def stored(layer_props: tuple[Prop, ...]) -> tuple[Prop, ...]:
    """The properties that are columns of the table (derived ones left out)."""
    return tuple(p for p in layer_props if p.derived is None)


@dataclass(frozen=True)
class Style:
    """How the console draws the layer (Leaflet path / marker options)."""

    color: str
    fill_color: str | None = None
    weight: float = 1.5
    fill_opacity: float = 0.2
    radius: float = 4.0
    by_property: str | None = None  # colour by this property ...
    palette: dict[str, str] = field(default_factory=dict)  # ... value -> colour


@dataclass(frozen=True)
class ImportRules:
    """How `onemap import` loads a layer's files.

    loader: "features" upserts rows by the id column (etl/vector_import.py);
    "gps_fixes" reads a GPS feed and rebuilds tracks and trips (etl/gps.py).
    system: columns a file never sets (besides gid and updated_at, never set by anyone).
    derived_area: area_km2 is computed from the geometry, never taken from a file.
    private: fields kept out of the layer's table (reporter contacts → event_contacts).
    locate: fill grid_code/town_code from the containing grid/town when not given.
    """

    loader: str = "features"
    system: frozenset[str] = frozenset()
    derived_area: bool = False
    private: tuple[str, ...] = ()
    locate: bool = False


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its table, OGC collection metadata, style and behaviour.

    time_start/time_end: the temporal extent of a feature. A layer with only
    time_start has instants; with both, intervals (tracks, grid versions).
    current_filter: SQL condition selecting the current rows when a request
    gives no datetime (grid versions still in force).
    mercator_column: a stored EPSG:3857 copy of the geometry (a generated
    column), read by Web Mercator vector tiles instead of transforming per row.
    tile_min_zoom: no vector tiles below this zoom (a layer of millions of
    points has no useful overview tile, and it could not be built in time).
    tile_window_hours: tiles without `datetime` show only the features of the
    last so many (whole) hours — for a feed that grows by millions a day.
    write_role: the least role (viewer, dispatcher, gis_editor, admin) that may write
    the layer through OGC API Features Part 4; None: no Part 4 writes (ETL only).
    versioned: a write never overwrites a row: it closes the open version
    (valid_to) and opens version + 1 (layers/grid_edits.py); the feature's ETag
    is "v<version>" (others: "u<updated_at µs>").
    if_match_required: Part 4 PUT/PATCH/DELETE without If-Match are refused (428).
    imports: how `onemap import` loads the layer (None: it cannot be imported).
    console_group: the console's layer-control group (None: not on the console).
    """

    id: str
    table: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    geometry_type: str  # Point | LineString | MultiPolygon ...
    properties: tuple[Prop, ...]
    id_column: str = "code"
    id_type: str = "string"  # string | integer
    geometry_column: str = "geom"
    mercator_column: str | None = None
    tile_min_zoom: int = 0
    tile_window_hours: int | None = None
    time_start: str | None = None
    time_end: str | None = None
    current_filter: str | None = None
    keywords: tuple[str, ...] = ()
    style: Style = Style(color="#3388ff")
    write_role: str | None = None
    versioned: bool = False
    if_match_required: bool = False
    imports: ImportRules | None = None
    console_group: str | None = None
    default_sort: str | None = None

    @property
    def title(self) -> str:
        return f"{self.title_zh} {self.title_en}"

    @property
    def editable(self) -> bool:
        """Part 4 writes are offered (someone may write it)."""
        return self.write_role is not None

    @property
    def description(self) -> str:
        return f"{self.description_zh} — {self.description_en}"

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.properties if p.name == name), None)
