"""What the OGC API publishes besides onemap's own layers: `collections:` and `builtin_layers:`.

`collections:` lists PostGIS tables or views published as they are (as tipg and
pygeoapi users expect); `builtin_layers:` keeps only some of the registry's
layers (`[]`: none), so onemap can serve an existing database alone. An id that
is a published built-in layer's would shadow it, so it is refused here, when
the settings load (`onemap config validate` exits 2 naming it).

Per collection: `editable: true` offers Part 4 writes (role `write_role`,
default gis_editor) through the same write path as built-in layers;
`read_role` hides a collection from anyone below that role (absent from
/collections, 401/403 on its items, tiles, queryables). Built-in layers get a
`read_role` through `layer_policies:`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# gis_server.auth.roles.ROLE_NAMES (not imported: auth imports the settings)
RoleName = Literal[
    "viewer", "reporter", "grid_worker", "handler", "dispatcher", "gis_editor", "admin"
]


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
    editable: bool = False  # Part 4 writes (POST/PUT/PATCH/DELETE), audited, with ETags
    write_role: RoleName = "gis_editor"  # the least role that may write (when editable)
    read_role: RoleName | None = None  # None: as every public read (ogc.public_reads)


class LayerPolicy(BaseModel):
    """Who may read a built-in layer (`layer_policies: {cameras: {read_role: viewer}}`)."""

    model_config = ConfigDict(extra="forbid")

    read_role: RoleName | None = None


def builtin_enabled(builtin_layers: list[str] | None, layer_id: str) -> bool:
    """Whether the OGC API publishes the built-in layer `layer_id` (None: every layer)."""
    return builtin_layers is None or layer_id in builtin_layers


def check_published(
    collections: list[ExtraCollection],
    builtin_layers: list[str] | None,
    policies: dict[str, LayerPolicy] | None = None,
) -> None:
    """ValueError naming the first duplicate id, unknown built-in, clash with a built-in,
    or a `layer_policies` entry for no published built-in layer."""
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
    for layer_id in policies or {}:
        if layer_id not in BY_ID or not builtin_enabled(builtin_layers, layer_id):
            raise ValueError(
                f"layer_policies: {layer_id!r} is not a published built-in layer "
                "(a config collection takes read_role on its own entry)"
            )
