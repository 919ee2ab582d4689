"""Both OpenAPI documents: valid (openapi-spec-validator), self-contained, and complete —
every route the app serves under /api and /ogc is in them, and nothing else is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from gis_server.auth.roles import write_role
from layers.registry import LAYERS

_PLACEHOLDER = re.compile(r"{[^}]*}")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def served(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(full path, method) of every route of the app; HEAD goes with GET, static mounts
    (files, not API operations) are left out."""
    for route in routes:
        if isinstance(route, Mount):
            if route.routes:
                yield from served(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD" or "GET" not in route.methods:
                    yield prefix + route.path, method


def _segments(path: str) -> list[str]:
    return _PLACEHOLDER.sub("{}", path).strip("/").split("/")


def matches(route_path: str, doc_path: str) -> bool:
    """A route template covers a document path: same segments, a route placeholder takes any."""
    r, d = _segments(route_path), _segments(doc_path)
    return len(r) == len(d) and all(a == b or a == "{}" for a, b in zip(r, d, strict=True))


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for path, item in doc["paths"].items():
        for method in item:
            if method in HTTP_METHODS:
                yield path, method.upper()


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def _documented(doc: dict[str, Any], base: str) -> list[tuple[str, str]]:
    return [(base + ("" if p == "/" and base else p), m) for p, m in operations(doc)]


@pytest.fixture(scope="session")
def routes(app_client) -> list[tuple[str, str]]:
    found = [(p, m) for p, m in served(app_client.app.routes)]
    return [(p, m) for p, m in found if p.startswith(("/api", "/ogc", "/healthz"))]


def test_both_documents_are_valid(api_doc, ogc_doc):
    validate(api_doc)  # OpenAPI 3.1
    validate(ogc_doc)  # OpenAPI 3.0.3
    assert api_doc["openapi"].startswith("3.1") and ogc_doc["openapi"] == "3.0.3"


def test_no_ref_leaves_the_document(api_doc, ogc_doc):
    for doc in (api_doc, ogc_doc):
        found = list(refs(doc))
        assert found, "the documents share schemas through components"
        outside = [r for r in found if not r.startswith("#/")]
        assert outside == []
        for r in found:  # and every local one resolves
            node = doc
            for part in r[2:].split("/"):
                node = node[part]


def test_every_served_route_is_documented(routes, api_doc, ogc_doc):
    documented = _documented(api_doc, "") + _documented(ogc_doc, "/ogc")
    missing = [
        (path, method)
        for path, method in routes
        if not any(m == method and matches(path, d) for d, m in documented)
    ]
    assert missing == []


def test_nothing_is_documented_that_is_not_served(routes, api_doc, ogc_doc):
    documented = _documented(api_doc, "") + _documented(ogc_doc, "/ogc")
    ghosts = [
        (d, m)
        for d, m in documented
        if not any(method == m and matches(path, d) for path, method in routes)
    ]
    assert ghosts == []


def test_matching_is_strict():
    assert matches("/ogc/collections/{collection_id}/items", "/ogc/collections/grids/items")
    assert not matches("/ogc/collections/{collection_id}/items", "/ogc/collections/grids")
    assert not matches("/api/grids/check", "/api/grids/diff")


def test_ogc_document_describes_what_is_served(ogc_doc):
    paths = ogc_doc["paths"]
    for layer in LAYERS:
        items, feature = (
            f"/collections/{layer.id}/items",
            f"/collections/{layer.id}/items/{{featureId}}",
        )
        assert {"get", "post", "options"} <= set(paths[items])
        assert {"get", "put", "patch", "delete", "options"} <= set(paths[feature])
        assert "204" in paths[items]["options"]["responses"]  # not "200"
        assert "requestBody" not in paths[items]["get"]  # a read is not a POST query
        if layer.editable:
            post = paths[items]["post"]
            assert post["x-onemap-role"] == write_role(layer.id).label
            assert {"201", "401", "403", "415", "422"} <= set(post["responses"])
            schema = post["requestBody"]["content"]["application/geo+json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{layer.id}.WriteFeature"}
            props = ogc_doc["components"]["schemas"][f"{layer.id}.WriteFeature"]["properties"]
            assert set(props["properties"]["properties"]) == {p.name for p in layer.properties}
            params = {p["name"] for p in paths[feature]["put"]["parameters"]}
            assert "If-Match" in params
            if layer.if_match_required:
                assert "428" in paths[feature]["put"]["responses"]
        else:
            assert set(paths[items]["post"]["responses"]) >= {"405"}
        assert (
            f"/collections/{layer.id}/tiles/{{tileMatrixSetId}}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
            in paths
        )
    assert "/tileMatrixSets" in paths and "/processes/grid-split/execution" in paths


def test_reporter_data_is_not_in_any_schema(api_doc, ogc_doc):
    import json

    for doc in (api_doc, ogc_doc):
        text = json.dumps(doc)
        assert "reporter_phone" not in text and "reporter_name" not in text
