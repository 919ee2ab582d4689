"""Who may read and write each published collection, from the settings.

Reads: a collection is public (as `ogc.public_reads` says) unless config names a
`read_role` for it (`collections:` entries, `layer_policies:` for built-in layers);
then it is absent from /collections for anyone below that role, and its items,
features, tiles, queryables and schema answer 401/403. Writes: built-in layers
take their `LayerSpec.write_role`, editable config collections their own
`write_role`. A scoped API key reaches only the collections it lists (for writes,
and for reads that are restricted).

Routes whose data come from layers without being under /ogc/collections/{id}
(console search, tracks, dispatch's event routes and statistics, the feed, the
fleet replay, the live stream, the grid processes) call `authorise` with the
collections they read and write, or filter their output by `readable`: the one
place the policy is decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from gis_server.auth.dependencies import authenticate, check_scope, require
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
        """Whether `principal` (None: anonymous) may read the collection — and so whether
        /collections lists it."""
        role = self.read_role(collection_id)
        if role is None:
            return True
        return principal is not None and principal.can(role) and principal.may_use(collection_id)

    def readable(
        self, principal: Principal | None, collection_ids: Iterable[str]
    ) -> frozenset[str]:
        """Those of `collection_ids` that `principal` may read (to leave the others out)."""
        return frozenset(c for c in collection_ids if self.visible(principal, c))


def policy_of(conn: HTTPConnection) -> CollectionPolicy:
    """The app's policy, built once from its settings (kept on ``app.state``)."""
    state = conn.app.state
    policy = getattr(state, "collection_policy", None)
    if policy is None:
        policy = state.collection_policy = CollectionPolicy.from_settings(state.settings)
    return policy


async def authorise(
    conn: HTTPConnection,
    role: Role | None,
    reads: Iterable[str] = (),
    writes: Iterable[str] = (),
) -> Principal | None:
    """The one check of a route touching layers outside /ogc/collections/{id}.

    `role`: the route's own least role (None: anyone, as public reads are). Each of
    `reads` whose reading is restricted raises the need to its `read_role` (401/403
    below it) and must be in a scoped key's collections; each of `writes` must be in
    a scoped key's collections (403). Returns the principal (None: anonymous, allowed).
    """
    policy = policy_of(conn)
    reads, writes = tuple(reads), tuple(writes)
    restricted = [c for c in reads if policy.read_role(c) is not None]
    need = max([policy.read_role(c) for c in restricted] + ([role] if role else []), default=None)
    if need is None and not writes:
        return await authenticate(conn)
    principal = await require(conn, need or Role.VIEWER)
    for cid in (*restricted, *writes):
        check_scope(principal, cid)
    return principal
