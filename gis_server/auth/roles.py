"""Roles, and who may write which layer (as the layer registry says).

Roles are ordered: a higher role may do everything a lower one may
(viewer < reporter < grid_worker < handler < dispatcher < gis_editor < admin).
reporter: an intake system (12345, 数字城管, camera AI) submitting events;
grid_worker and handler act on the dispatch loop within their grids or
department (scope checked in layers/dispatch, not by the order).
"""

from __future__ import annotations

from enum import IntEnum

from layers.registry import LAYERS


class Role(IntEnum):
    VIEWER = 1
    REPORTER = 2
    GRID_WORKER = 3
    HANDLER = 4
    DISPATCHER = 5
    GIS_EDITOR = 6
    ADMIN = 7

    @property
    def label(self) -> str:
        """The name stored in the database and shown to users (e.g. ``gis_editor``)."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Role) -> Role:
        if isinstance(value, Role):
            return value
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown role {value!r}; use one of {', '.join(ROLE_NAMES)}"
            ) from None


ROLE_NAMES: tuple[str, ...] = tuple(r.label for r in Role)

# The role needed to create, replace, update or delete features of a layer
# (OGC API Features Part 4): the registry's `write_role`. Layers without one are
# written by ETL/admins only.
LAYER_WRITE_ROLES: dict[str, Role] = {
    layer.id: Role.parse(layer.write_role) for layer in LAYERS if layer.write_role
}


def write_role(layer: str) -> Role:
    """The least role that may write `layer` (admin for layers not listed)."""
    return LAYER_WRITE_ROLES.get(layer, Role.ADMIN)
