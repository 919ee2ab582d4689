"""What the OGC API publishes besides onemap's own layers: `collections:` and `builtin_layers:`.

`collections:` lists PostGIS tables or views published as they are (as tipg and
pygeoapi users expect); `builtin_layers:` keeps only some of the registry's
layers (`[]`: none), so onemap can serve an existing database alone. An id that
is a published built-in layer's would shadow it, so it is refused here, when
the settings load (`onemap config validate` exits 2 naming it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ExtraCollection(BaseModel):
    """A PostGIS table or view published as it is (like tipg / pygeoapi users expect)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
    id_column: str
    geometry_column: str = "geom"
    time_column: str | None = None
    title: str | None = None
    description: str = ""


def builtin_enabled(builtin_layers: list[str] | None, layer_id: str) -> bool:
    """Whether the OGC API publishes the built-in layer `layer_id` (None: every layer)."""
    return builtin_layers is None or layer_id in builtin_layers


def check_published(collections: list[ExtraCollection], builtin_layers: list[str] | None) -> None:
    """ValueError naming the first duplicate id, unknown built-in, or clash with a built-in."""
    from layers.registry import BY_ID  # (the registry imports nothing of gis_server)

    seen: set[str] = set()
    for c in collections:
        if c.id in seen:
            raise ValueError(f"collections: id {c.id!r} is listed twice")
        seen.add(c.id)
    unknown = sorted(set(builtin_layers or ()) - set(BY_ID))
    if unknown:
        raise ValueError(
            f"builtin_layers: {unknown[0]!r} is not a built-in layer; known: {', '.join(BY_ID)}"
        )
    for c in collections:
        if c.id in BY_ID and builtin_enabled(builtin_layers, c.id):
            raise ValueError(
                f"collections: id {c.id!r} is a built-in layer's; choose another id "
                "or leave that layer out of builtin_layers"
            )
