"""The description every layer gives of itself, read by the server, ETL and console."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Prop:
    """A public property of a layer: served by the OGC API and listed as queryable."""

    name: str
    type: str  # JSON schema type: string | integer | number | boolean
    title_zh: str
    title_en: str
    format: str | None = None  # date-time | date
    enum: tuple[str, ...] | None = None

    @property
    def title(self) -> str:
        return f"{self.title_zh} {self.title_en}"


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
class LayerSpec:
    """One layer: its table, OGC collection metadata and style.

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
    editable: bool = False
    default_sort: str | None = None

    @property
    def title(self) -> str:
        return f"{self.title_zh} {self.title_en}"

    @property
    def description(self) -> str:
        return f"{self.description_zh} — {self.description_en}"

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.properties if p.name == name), None)


def s(name: str, zh: str, en: str, enum: tuple[str, ...] | None = None) -> Prop:
    return Prop(name, "string", zh, en, enum=enum)


def i(name: str, zh: str, en: str) -> Prop:
    return Prop(name, "integer", zh, en)


def n(name: str, zh: str, en: str) -> Prop:
    return Prop(name, "number", zh, en)


def t(name: str, zh: str, en: str) -> Prop:
    return Prop(name, "string", zh, en, format="date-time")


def d(name: str, zh: str, en: str) -> Prop:
    return Prop(name, "string", zh, en, format="date")
