"""Config collections as built-in layers get them: Part 4 writes when `editable: true`
(auth, audit, row-hash ETags, If-Match), per-collection conformance, per-collection read
policy, and API keys scoped to a role and to collections."""

from __future__ import annotations

import secrets

import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.auth import store
from gis_server.auth.roles import Role
from gis_server.collection_settings import LayerPolicy
from gis_server.settings import ExtraCollection

PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete"
PARKS = "/ogc/collections/parks/items"
POINT = {"type": "Point", "coordinates": [121.2, 31.85]}


@pytest.fixture(scope="module")
def policy_client(demo_db, ogc_settings):
    conn = psycopg2.connect(demo_db)
    with conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE ogc_test_parks (gid serial PRIMARY KEY, name text NOT NULL, "
            "area real, open boolean, kind varchar(8), geom geometry(Point, 3857));"
            "INSERT INTO ogc_test_parks (name, area, geom) SELECT '公园' || i, i, "
            "ST_Transform(ST_SetSRID(ST_Point(121.1 + i * 0.01, 31.8), 4326), 3857) "
            "FROM generate_series(1, 5) i;"
            "CREATE TABLE ogc_test_secrets (id text PRIMARY KEY, geom geometry(Point, 4326));"
            "INSERT INTO ogc_test_secrets VALUES ('s1', ST_SetSRID(ST_Point(121.2, 31.8), 4326));"
        )
    settings = ogc_settings.model_copy(
        update={
            "collections": [
                ExtraCollection(id="parks", table="ogc_test_parks", id_column="gid", editable=True),
                ExtraCollection(id="parks-ro", table="ogc_test_parks", id_column="gid"),
                ExtraCollection(id="secrets", table="ogc_test_secrets", id_column="id",
                                read_role="viewer", editable=True, write_role="admin"),
            ],
            "layer_policies": {"river_patrol_zones": LayerPolicy(read_role="dispatcher")},
        }
    )  # fmt: skip
    try:
        with TestClient(create_app(settings)) as c:
            yield c
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("DROP TABLE ogc_test_parks, ogc_test_secrets")  # audit rows stay
        conn.close()


@pytest.fixture(scope="module")
def key(demo_db):
    """key(role, key_role=None, collections=None): a live API key of a new user."""
    made: list[str] = []

    def make(role: Role, key_role: Role | None = None, collections: list[str] | None = None):
        name = f"pol-{role.label}-{secrets.token_hex(3)}"
        with psycopg2.connect(demo_db) as conn:
            store.add_user(conn, name, role, "long enough password")
            _, k, _ = store.issue_key(conn, name, "t", role=key_role, collections=collections)
        conn.close()
        made.append(name)
        return {"X-API-Key": k}

    yield make
    with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM users WHERE username = ANY(%s)", (made,))
    conn.close()


def _feature(**props):
    return {"type": "Feature", "geometry": POINT, "properties": props}


def _audit(sql, layer, code):
    return sql(
        "SELECT action FROM audit_log WHERE layer = %s AND feature_id = %s ORDER BY id",
        (layer, str(code)),
    )


def test_config_collection_part4_round_trip(policy_client, key, sql):
    c, editor = policy_client, key(Role.GIS_EDITOR)
    r = c.post(PARKS, json=_feature(name="新公园", area=2.5, open=True), headers=editor)
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert isinstance(gid, int) and r.headers["location"].endswith(f"{PARKS}/{gid}")
    (x, y, srid, name, is_open) = sql(
        "SELECT ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)), ST_SRID(geom), "
        "name, open FROM ogc_test_parks WHERE gid = %s",
        (gid,),
    )[0]
    assert (round(x, 7), round(y, 7), srid, name, is_open) == (121.2, 31.85, 3857, "新公园", True)
    got = c.get(f"{PARKS}/{gid}")
    tag = got.headers["etag"]
    assert tag.startswith('"h') and got.json()["properties"]["name"] == "新公园"
    assert tag == r.headers["etag"]

    stale = c.patch(f"{PARKS}/{gid}", json={"properties": {"area": 3}},
                    headers={**editor, "If-Match": '"h0"'})  # fmt: skip
    assert stale.status_code == 412, stale.text
    ok = c.patch(f"{PARKS}/{gid}", json={"properties": {"area": 3}},
                 headers={**editor, "If-Match": tag})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["properties"]["area"] == 3
    assert (
        ok.headers["etag"] != tag and ok.headers["etag"] == c.get(f"{PARKS}/{gid}").headers["etag"]
    )
    put = c.put(f"{PARKS}/{gid}", json=_feature(name="改名"), headers=editor)
    assert put.status_code == 200 and put.json()["properties"]["area"] is None  # PUT replaces
    # the table changed behind onemap's back: the row hash sees it
    sql("UPDATE ogc_test_parks SET name = 'x' WHERE gid = %s RETURNING gid", (gid,))
    late = c.delete(f"{PARKS}/{gid}", headers={**editor, "If-Match": put.headers["etag"]})
    assert late.status_code == 412
    gone = c.delete(f"{PARKS}/{gid}", headers={**editor, "If-Match": c.get(f"{PARKS}/{gid}").headers["etag"]})  # fmt: skip
    assert gone.status_code == 204 and c.get(f"{PARKS}/{gid}").status_code == 404
    assert [a for (a,) in _audit(sql, "parks", gid)] == ["create", "update", "replace", "delete"]


def test_config_collection_writes_are_checked(policy_client, key):
    c, editor = policy_client, key(Role.GIS_EDITOR)
    assert c.post(PARKS, json=_feature(name="a")).status_code == 401
    assert c.post(PARKS, json=_feature(name="a"), headers=key(Role.VIEWER)).status_code == 403
    bad = {
        "area": ({"name": "a", "area": "big"}, "area"),
        "open": ({"name": "a", "open": 1}, "open"),
        "unknown": ({"name": "a", "colour": "red"}, "colour"),
        "varchar": ({"name": "a", "kind": "much too long"}, None),
        "null": ({"area": 1}, "name"),
    }
    for label, (props, culprit) in bad.items():
        r = c.post(PARKS, json=_feature(**props), headers=editor)
        assert r.status_code == 422, (label, r.text)
        if culprit:
            assert r.json().get("property") == culprit, (label, r.json())
    line = {"type": "LineString", "coordinates": [[121, 31], [121.1, 31.1]]}
    r = c.post(PARKS, json={"type": "Feature", "geometry": line, "properties": {"name": "a"}},
               headers=editor)  # fmt: skip
    assert r.status_code == 422 and r.json()["property"] == "geometry"
    assert c.patch(f"{PARKS}/abc", json={}, headers=editor).status_code == 404
    assert c.patch(f"{PARKS}/999999", json={}, headers=editor).status_code == 404
    r = c.post(PARKS, json=_feature(name="a"), params={"dry_run": "true"}, headers=editor)
    assert r.status_code == 200 and r.json()["onemap:dry_run"] is True


def test_read_only_config_collection_and_allow(policy_client, key):
    c = policy_client
    r = c.post("/ogc/collections/parks-ro/items", json=_feature(name="a"),
               headers=key(Role.ADMIN))  # fmt: skip
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
    items = {m.strip() for m in c.options(PARKS).headers["allow"].split(",")}
    assert items == {"GET", "HEAD", "OPTIONS", "POST"}
    one = {m.strip() for m in c.options(f"{PARKS}/1").headers["allow"].split(",")}
    assert one == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}


def test_collection_metadata_says_which_classes_apply(policy_client):
    listed = {x["id"]: x for x in policy_client.get("/ogc/collections").json()["collections"]}
    assert PART4 in listed["parks"]["onemap:conformsTo"] and listed["parks"]["onemap:editable"]
    assert listed["parks"]["onemap:writeRole"] == "gis_editor"
    assert PART4 not in listed["parks-ro"]["onemap:conformsTo"]
    assert listed["parks-ro"]["onemap:editable"] is False
    assert PART4 in listed["grids"]["onemap:conformsTo"]  # a built-in editable layer
    assert PART4 not in listed["towns"]["onemap:conformsTo"]
    one = policy_client.get("/ogc/collections/parks").json()
    assert one["onemap:editable"] is True
    every = set(policy_client.get("/ogc/conformance").json()["conformsTo"])
    assert set(listed["parks"]["onemap:conformsTo"]) <= every


def test_openapi_documents_config_writes(policy_client):
    doc = policy_client.get("/ogc/openapi", params={"f": "json"}).json()
    assert {"post", "options"} <= set(doc["paths"]["/collections/parks/items"])
    one = doc["paths"]["/collections/parks/items/{featureId}"]
    assert {"put", "patch", "delete"} <= set(one) and "201" in doc["paths"][
        "/collections/parks/items"]["post"]["responses"]  # fmt: skip
    assert "405" in doc["paths"]["/collections/parks-ro/items"]["post"]["responses"]


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/collections/secrets",
        "/ogc/collections/secrets/items",
        "/ogc/collections/secrets/items/s1",
        "/ogc/collections/secrets/queryables",
        "/ogc/collections/secrets/tiles/WebMercatorQuad/10/418/857",
    ],
)
def test_restricted_collection_needs_its_role(policy_client, key, path):
    c = policy_client
    assert c.get(path).status_code == 401
    assert c.get(path, headers=key(Role.VIEWER)).status_code in (200, 204)


def test_restricted_collections_absent_below_their_role(policy_client, key):
    def ids(headers=None):
        body = policy_client.get("/ogc/collections", headers=headers or {}).json()
        return {x["id"] for x in body["collections"]}

    anonymous, viewer, dispatcher = ids(), ids(key(Role.VIEWER)), ids(key(Role.DISPATCHER))
    assert "secrets" not in anonymous and "river_patrol_zones" not in anonymous
    assert "secrets" in viewer and "river_patrol_zones" not in viewer
    assert {"secrets", "river_patrol_zones"} <= dispatcher and "parks" in anonymous
    zones = "/ogc/collections/river_patrol_zones/items"
    assert policy_client.get(zones, headers=key(Role.VIEWER)).status_code == 403
    assert policy_client.get(zones, headers=key(Role.DISPATCHER)).status_code == 200
    console = "/api/console/layers/river_patrol_zones"  # the console's copy of the layer
    assert policy_client.get(console).status_code == 401
    assert policy_client.get(console, headers=key(Role.DISPATCHER)).status_code == 200
    html = policy_client.get("/ogc/collections", params={"f": "html"})
    assert html.status_code == 200 and "/collections/secrets" not in html.text
    seen = policy_client.get("/ogc/collections", params={"f": "html"}, headers=key(Role.VIEWER))
    assert "/collections/secrets" in seen.text


def test_scoped_keys(policy_client, key, demo_db):
    c = policy_client
    low = key(Role.GIS_EDITOR, key_role=Role.VIEWER)  # an editor's key that only reads
    assert c.post(PARKS, json=_feature(name="a"), headers=low).status_code == 403
    assert c.get("/api/auth/me", headers=low).json()["role"] == "viewer"
    other = key(Role.GIS_EDITOR, collections=["cameras"])
    r = c.post(PARKS, json=_feature(name="a"), headers=other)
    assert r.status_code == 403 and "scoped" in r.json()["description"]
    assert c.get("/api/auth/me", headers=other).json()["collections"] == ["cameras"]
    mine = key(Role.GIS_EDITOR, collections=["parks"])
    made = c.post(PARKS, json=_feature(name="scoped"), headers=mine)
    assert made.status_code == 201
    assert (
        c.delete(made.headers["location"].split("testserver")[-1], headers=mine).status_code == 204
    )
    # restricted reads follow the scope; public ones do not
    assert c.get("/ogc/collections/secrets/items", headers=other).status_code == 403
    listed = {x["id"] for x in c.get("/ogc/collections", headers=other).json()["collections"]}
    assert "secrets" not in listed and "parks" in listed
    assert c.get(PARKS, headers=other).status_code == 200
    with psycopg2.connect(demo_db) as conn:
        name = f"pol-v-{secrets.token_hex(3)}"
        store.add_user(conn, name, Role.VIEWER, "long enough password")
        with pytest.raises(store.KeyAboveUser):
            store.issue_key(conn, name, "t", role=Role.ADMIN)
        conn.rollback()
    conn.close()
