"""Who may read and write each published collection, from the settings.

Reads: a collection is public (as `ogc.public_reads` says) unless config names a
`read_role` for it (`collections:` entries, `layer_policies:` for built-in layers);
then it is absent from /collections for anyone below that role, and its items,
features, tiles, queryables and schema answer 401/403. Writes: built-in layers
take their `LayerSpec.write_role`, editable config collections their own
`write_role`. A scoped API key reaches only the collections it lists (for writes,
and for reads that are restricted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gis_server.auth.principal import Principal
from gis_server.auth.roles import LAYER_WRITE_ROLES, Role


@dataclass(frozen=True)
class CollectionPolicy:
    read_roles: Mapping[str, Role] = field(default_factory=dict)  # restricted collections
    write_roles: Mapping[str, Role] = field(default_factory=dict)  # editable config ones

    @classmethod
    def from_settings(cls, settings) -> CollectionPolicy:  # type: ignore[no-untyped-def]
        ids = [c.id for c in settings.collections] + list(settings.layer_policies)
        reads = {cid: Role.parse(r) for cid in ids if (r := settings.read_role(cid))}
        writes = {cid: Role.parse(r) for cid, r in settings.collection_write_roles().items()}
        return cls(reads, writes)

    def read_role(self, collection_id: str) -> Role | None:
        """The least role that may read the collection (None: public as the API is)."""
        return self.read_roles.get(collection_id)

    def write_role(self, collection_id: str) -> Role:
        """The least role that may write the collection (admin for read-only ones)."""
        if collection_id in self.write_roles:
            return self.write_roles[collection_id]
        return LAYER_WRITE_ROLES.get(collection_id, Role.ADMIN)

    def visible(self, principal: Principal | None, collection_id: str) -> bool:
        """Whether /collections lists the collection for `principal` (None: anonymous)."""
        role = self.read_role(collection_id)
        if role is None:
            return True
        return principal is not None and principal.can(role) and principal.may_use(collection_id)
