"""How each importable layer is loaded: which fields come from files, which are
derived or kept by the system, and how rows are keyed, versioned and located."""

from __future__ import annotations

from dataclasses import dataclass

from layers.base import LayerSpec
from layers.registry import get_layer

_ALWAYS_SYSTEM = frozenset({"gid", "updated_at"})


@dataclass(frozen=True)
class ImportProfile:
    """One layer's import rules.

    system: columns a file never sets (ids, timestamps, versions, live positions).
    derived_area: area_km2 is computed from the geometry, never taken from a file.
    contacts: private fields that go to event_contacts, never to events.
    geometry: the layer's geometry type, or None for attribute-only imports.
    locate: fill grid_code/town_code from the containing grid/town when not given.
    versioned: a change closes the current version and opens version+1 (grids).
    """

    layer: LayerSpec
    system: frozenset[str]
    geometry: str | None
    derived_area: bool = False
    contacts: tuple[str, ...] = ()
    locate: bool = False
    versioned: bool = False

    @property
    def id(self) -> str:
        return self.layer.id

    @property
    def table(self) -> str:
        return self.layer.table

    @property
    def key(self) -> str:
        return self.layer.id_column


def _profile(layer_id: str, extra_system: set[str] = frozenset(), **kw) -> ImportProfile:
    return ImportProfile(get_layer(layer_id), _ALWAYS_SYSTEM | set(extra_system), **kw)


PROFILES: dict[str, ImportProfile] = {
    p.id: p
    for p in (
        _profile("towns", {"area_km2"}, geometry="MultiPolygon", derived_area=True),
        _profile(
            "grids",
            {"area_km2", "version", "valid_from", "valid_to"},
            geometry="MultiPolygon",
            derived_area=True,
            versioned=True,
        ),
        _profile("cameras", geometry="Point", locate=True),
        _profile("river_patrol_zones", {"area_km2"}, geometry="MultiPolygon", derived_area=True),
        _profile(
            "events",
            geometry="Point",
            locate=True,
            contacts=("reporter_name", "reporter_phone"),
        ),
        _profile("vehicles", {"last_fix_at", "speed_kmh", "heading", "geom"}, geometry=None),
    )
}

# Source column names for the private contact fields (the public layer has no titles for them).
CONTACT_ALIASES = {
    "reporter_name": ("报告人", "报告人姓名", "举报人", "反映人", "联系人", "reporter"),
    "reporter_phone": ("报告人电话", "联系电话", "举报人电话", "反映人电话", "电话", "phone"),
}


def get_profile(layer_id: str) -> ImportProfile:
    from etl.errors import UsageError

    try:
        return PROFILES[layer_id]
    except KeyError:
        raise UsageError(
            f"不能导入图层 {layer_id!r} — layer {layer_id!r} cannot be imported; choose one of "
            + ", ".join([*PROFILES, "vehicle_positions", "raster"])
        ) from None
