"""How each importable layer is loaded: which fields come from files, which are
derived or kept by the system, and how rows are keyed, versioned and located.

The rules are the registry's (`LayerSpec.imports`); a profile is their view for the
feature importer.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.base import ImportRules, LayerSpec
from layers.registry import LAYERS

_ALWAYS_SYSTEM = frozenset({"gid", "updated_at"})


@dataclass(frozen=True)
class ImportProfile:
    """One layer's import rules (see layers.base.ImportRules).

    system: columns a file never sets (ids, timestamps, versions, live positions).
    geometry: the layer's geometry type, or None for attribute-only imports.
    """

    layer: LayerSpec
    system: frozenset[str]
    geometry: str | None
    derived_area: bool = False
    contacts: tuple[str, ...] = ()
    locate: bool = False

    @property
    def id(self) -> str:
        return self.layer.id

    @property
    def table(self) -> str:
        return self.layer.table

    @property
    def key(self) -> str:
        return self.layer.id_column

    @property
    def versioned(self) -> bool:
        """A change closes the current version and opens version+1 (grids)."""
        return self.layer.versioned


def _profile(layer: LayerSpec, rules: ImportRules) -> ImportProfile:
    system = _ALWAYS_SYSTEM | rules.system
    return ImportProfile(
        layer,
        system,
        geometry=None if layer.geometry_column in system else layer.geometry_type,
        derived_area=rules.derived_area,
        contacts=rules.private,
        locate=rules.locate,
    )


PROFILES: dict[str, ImportProfile] = {
    layer.id: _profile(layer, layer.imports)
    for layer in LAYERS
    if layer.imports is not None and layer.imports.loader == "features"
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
        importable = [layer.id for layer in LAYERS if layer.imports is not None]
        raise UsageError(
            f"不能导入图层 {layer_id!r} — layer {layer_id!r} cannot be imported; choose one of "
            + ", ".join([*importable, "raster"])
        ) from None
