"""Values that parse but break SQL or datetime arithmetic: CQL2 literals and sizes,
far-future datetimes, numbers out of a column's range, process inputs of the wrong type.
Each is a 4xx naming the parameter, property or input — never a 500."""

from __future__ import annotations

import json

import pytest

from tests.hostile.test_text import GEOJSON, ITEMS, bad

GRID = "/ogc/collections/grids"
JSON_RING_OPEN = {
    "op": "s_intersects",
    "args": [
        {"property": "geometry"},
        {"type": "Polygon", "coordinates": [[[121, 31], [122, 31], [122, 32]]]},
    ],
}


def cql2_json(node: dict) -> dict[str, str]:
    return {"filter": json.dumps(node), "filter-lang": "cql2-json"}


def intersects(literal: object) -> dict[str, str]:
    return cql2_json({"op": "s_intersects", "args": [{"property": "geometry"}, literal]})


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "S_INTERSECTS(geometry, POLYGON((121 31, 122 31, 122 32)))"},
        cql2_json(JSON_RING_OPEN),
        intersects({"type": "Hexagon", "coordinates": [121, 31]}),
        intersects({"type": "Point", "coordinates": [121, 31], "crs": "x"}),
        intersects({"type": "Point", "coordinates": ["121", "31"]}),
        intersects({"type": "Point", "coordinates": [1e300, 31]}),
        intersects({"bbox": ["a", "b", "c", "d"]}),
        {"filter": "NOT " * 3000 + "population = 1"},
        {"filter": " OR ".join(["population=1"] * 2000)},  # 31,996 characters
        cql2_json({"op": "=", "args": [{"property": "name"}, "a\u0000"]}),
        {"filter": "population = 1 AND " * 2000 + "population = 1"},
    ],
    ids=[
        "open-ring-text",
        "open-ring-json",
        "unknown-type",
        "crs-string",
        "string-coordinates",
        "coordinate-out-of-range",
        "bbox-of-strings",
        "3000-nots",
        "2000-ors",
        "nul-in-json-string",
        "too-long",
    ],
)
def test_bad_filters_are_400_naming_filter(client, params):
    bad(client.get(f"{GRID}/items", params={**params, "f": "json"}), "filter")


def test_long_or_chains_and_nots_within_bounds_still_answer(client):
    """AND/OR chains count as one level: 300 ORs are fine (translated flat, not recursively)."""
    chain = " OR ".join(f"code = 'X{i}'" for i in range(300))
    r = client.get(f"{GRID}/items", params={"filter": f"NOT NOT ({chain})", "f": "json"})
    assert r.status_code == 200, r.text
    assert r.json()["features"] == []


@pytest.mark.parametrize(
    "value", ["9999-12-31", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00"]
)
def test_far_datetimes_are_400_on_items_and_tiles(client, value):
    bad(client.get(f"{GRID}/items", params={"datetime": value, "f": "json"}), "datetime")
    bad(client.get(f"{GRID}/items/T9-A", params={"datetime": value, "f": "json"}), "datetime")
    tile = client.get(f"{GRID}/tiles/WebMercatorQuad/10/420/870", params={"datetime": value})
    bad(tile, "datetime")


def test_datetimes_near_the_ends_still_answer(client):
    for value in ("9999-12-29", "0001-01-03T00:00:00Z/.."):
        assert client.get(f"{GRID}/items", params={"datetime": value}).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        '"population": 1000000000000000000000000000000',
        '"population": 1e400',
        '"population": NaN',
        '"population": -Infinity',
        '"population": 2147483648',
    ],
)
def test_numbers_out_of_the_columns_range_are_422(client, town, editor, sql, raw):
    body = '{"properties": {' + raw + "}}"
    h = {**editor, "Content-Type": "application/merge-patch+json", "If-Match": '"v1"'}
    bad(client.patch(f"{ITEMS}/T9-A", content=body, headers=h), "population", 422)
    r = client.post(
        ITEMS, content=body.replace("{", '{"type": "Feature", ', 1), headers={**GEOJSON, **editor}
    )
    bad(r, "population", 422)
    assert sql("SELECT max(version), min(population) FROM grids WHERE code = 'T9-A'")[0] == (1, 100)


def test_largest_integer_the_column_holds_is_written(client, town, editor, sql):
    h = {**editor, "Content-Type": "application/merge-patch+json", "If-Match": '"v1"'}
    r = client.patch(
        f"{ITEMS}/T9-A", content='{"properties": {"population": 2147483647}}', headers=h
    )
    assert r.status_code == 200, r.text
    assert sql("SELECT population FROM grids WHERE code = 'T9-A' AND valid_to IS NULL") == [
        (2147483647,)
    ]


@pytest.mark.parametrize(
    ("process", "inputs", "name"),
    [
        ("grid-merge", {"codes": [1, 2], "into": "T9-A"}, "inputs.codes[0]"),
        ("grid-merge", {"codes": ["T9-A", ""], "into": "T9-A"}, "inputs.codes[1]"),
        (
            "grid-merge",
            {"codes": ["T9-A", "T9-B"], "into": "T9-A", "versions": {"T9-A": "1"}},
            "inputs.versions.T9-A",
        ),
        ("grid-reshape", {"codes": ["T9-A", 7]}, "inputs.codes[1]"),
        ("grid-split", {"code": "T9-A", "line": {}, "new_codes": [None]}, "inputs.new_codes[0]"),
    ],
)
def test_process_inputs_of_the_wrong_type_are_400(client, town, editor, sql, process, inputs, name):
    r = client.post(
        f"/ogc/processes/{process}/execution",
        content=json.dumps({"inputs": inputs}),
        headers=editor,
    )
    bad(r, name)
    assert sql("SELECT count(*) FROM grids WHERE code LIKE 'T9-%%' AND version > 1")[0][0] == 0


def test_indexed_text_too_long_for_its_index_is_422(client, town, editor, sql):
    """A code of 3,000 bytes cannot enter a B-tree index: 422 naming it, not a 500."""
    long = "T9-" + "x" * 3000
    body = {"type": "Feature", "properties": {"code": long}, "geometry": None}
    r = client.post(ITEMS, content=json.dumps(body), headers={**GEOJSON, **editor})
    bad(r, "code", 422)
    h = {**editor, "Content-Type": "application/merge-patch+json", "If-Match": '"v1"'}
    body = {"properties": {"town_code": long}}
    bad(client.patch(f"{ITEMS}/T9-A", content=json.dumps(body), headers=h), "town_code", 422)
    body = {"properties": {"name": "名" * 3000}}  # not indexed: any length the body allows
    assert client.patch(f"{ITEMS}/T9-A", content=json.dumps(body), headers=h).status_code == 200
    assert sql("SELECT count(*) FROM grids WHERE length(code) > 100")[0][0] == 0
