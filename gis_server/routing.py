"""Documented routes: every `/api` route says what it takes, gives and who may call it.

A route made with `api_route` carries a `RouteDoc`. The OpenAPI document
(`/api/openapi.json`) and the authorisation matrix test are generated from
these, so a new route cannot be forgotten by either: write the route with
`api_route`, and it is documented, authorised and fuzzed.

`role` is the least role the handler itself requires (`auth.require`); None
means anyone (reads still follow `ogc.public_reads`). Schemas are plain JSON
Schema dicts, self-contained (no `$ref` outside the document).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Route

JsonSchema = Mapping[str, Any]


@dataclass(frozen=True)
class Param:
    """A query, path or header parameter."""

    name: str
    where: str = "query"  # "query" | "path" | "header"
    schema: JsonSchema = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Body:
    """A response or request body: its media types and JSON Schema."""

    description: str
    schema: JsonSchema | None = None
    media_types: tuple[str, ...] = ("application/json",)
    headers: tuple[str, ...] = ()  # response headers sent with it (names in openapi/build.py)


@dataclass(frozen=True)
class RouteDoc:
    """What one (path, methods) route is, for OpenAPI and the role matrix."""

    summary: str
    role: Any = None  # gis_server.auth.Role or None (kept untyped: auth imports routing)
    tags: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    request: Body | None = None
    responses: Mapping[int, Body] = field(default_factory=dict)
    description: str = ""


class DocumentedRoute(Route):
    """A Starlette Route with its `RouteDoc` (per method when methods differ)."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str],
        docs: Mapping[str, RouteDoc],
        name: str | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=list(methods), name=name)
        missing = {m.upper() for m in methods} - {m.upper() for m in docs}
        if missing:
            raise ValueError(f"{path}: no RouteDoc for {sorted(missing)}")
        self.docs: dict[str, RouteDoc] = {m.upper(): d for m, d in docs.items()}


def api_route(
    path: str,
    endpoint: Callable[..., Any],
    *,
    methods: Sequence[str] = ("GET",),
    doc: RouteDoc | None = None,
    docs: Mapping[str, RouteDoc] | None = None,
    name: str | None = None,
) -> DocumentedRoute:
    """A route with one `doc` for all its methods, or `docs` per method."""
    if docs is None:
        if doc is None:
            raise ValueError(f"{path}: a documented route needs doc= or docs=")
        docs = {m: doc for m in methods}
    return DocumentedRoute(path, endpoint, methods=methods, docs=docs, name=name)


def documented_routes(routes: Sequence[Any]) -> list[DocumentedRoute]:
    """Every DocumentedRoute in a route list (Mounts walked)."""
    found: list[DocumentedRoute] = []
    for route in routes:
        if isinstance(route, DocumentedRoute):
            found.append(route)
        elif sub := getattr(route, "routes", None):
            found.extend(documented_routes(sub))
    return found
