"""The schema the migrations create agrees with layers.tables and the registry."""

from __future__ import annotations

import pytest

from layers.migrate import current_revision, head_revision, schema_drift
from layers.registry import LAYERS


def _columns(db, table: str) -> dict[str, str]:
    with db.cursor() as cur:
        cur.execute(
            "SELECT column_name, udt_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s",
            (table,),
        )
        return dict(cur.fetchall())


def test_migrations_are_at_head(db_dsn):
    from gis_server.settings import get_settings

    assert current_revision(get_settings().database.sqlalchemy_url) == head_revision()


def test_migrations_match_the_tables(db_dsn):
    """`alembic check`: the migrated database has exactly the tables of layers.tables
    (day partitions aside), with their columns, types (GeoAlchemy2: geometry type and
    SRID), nullability, keys, unique constraints and indexes."""
    from gis_server.settings import get_settings

    assert schema_drift(get_settings().database.sqlalchemy_url) == []


@pytest.mark.parametrize("layer", LAYERS, ids=lambda spec: spec.id)
def test_every_public_property_is_a_column(db, layer):
    cols = _columns(db, layer.table)
    for prop in layer.properties:
        if prop.derived is None:
            assert prop.name in cols, f"{layer.id}.{prop.name} is not a column"
            continue
        # a derived property is not stored; its SQL reads the table's columns
        assert prop.name not in cols, f"{layer.id}.{prop.name} is derived and a column"
        with db.cursor() as cur:
            cur.execute(f"SELECT ({prop.derived.format(offline_after_s=300)}) FROM {layer.table}")
        db.rollback()
    assert layer.id_column in cols
    assert cols[layer.geometry_column] == "geometry"


@pytest.mark.parametrize("layer", LAYERS, ids=lambda spec: spec.id)
def test_geometry_has_gist_index(db, layer):
    with db.cursor() as cur:
        cur.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s",
            (layer.table,),
        )
        defs = [r[0] for r in cur.fetchall()]
    assert any("USING gist" in d and f"({layer.geometry_column})" in d for d in defs), defs


@pytest.mark.parametrize(
    "layer", [spec for spec in LAYERS if spec.mercator_column], ids=lambda spec: spec.id
)
def test_mercator_copy_is_generated_from_the_geometry(db, layer):
    """Vector tiles read `mercator_column`: it must be a generated column that follows every
    write of the geometry (so it can never disagree with it)."""
    with db.cursor() as cur:
        cur.execute(
            "SELECT attgenerated FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
            (layer.table, layer.mercator_column),
        )
        assert cur.fetchone() == ("s",)
        cur.execute(
            f"SELECT count(*) FROM {layer.table} WHERE {layer.mercator_column} IS DISTINCT FROM "
            f"ST_Transform({layer.geometry_column}, 3857)"  # names from the registry
        )
        assert cur.fetchone() == (0,)


def test_reporter_contacts_are_not_in_events(db):
    cols = _columns(db, "events")
    assert not {"reporter_name", "reporter_phone"} & set(cols)
    events = next(spec for spec in LAYERS if spec.id == "events")
    assert not any("reporter" in p.name for p in events.properties)


def test_positions_partition_per_day(db):
    with db.cursor() as cur:
        cur.execute("SELECT onemap_ensure_position_partition('2026-03-01')")
        part = cur.fetchone()[0]
        cur.execute("SELECT onemap_ensure_position_partition('2026-03-01')")  # idempotent
        cur.execute(
            "INSERT INTO vehicle_positions (vehicle_code, fix_time, geom) "
            "VALUES ('V1', '2026-03-01 23:59:59+08', ST_SetSRID(ST_MakePoint(121.2, 31.9), 4326)), "
            "       ('V1', '2026-03-02 00:00:00+08', ST_SetSRID(ST_MakePoint(121.2, 31.9), 4326))"
        )
        cur.execute(
            "SELECT tableoid::regclass::text, count(*) FROM vehicle_positions "
            "WHERE vehicle_code = 'V1' GROUP BY 1 ORDER BY 1"
        )
        placed = dict(cur.fetchall())
        # The next day has no partition yet: its fix waits in the default one,
        # and moves when that day's partition is created.
        assert placed == {part: 1, "vehicle_positions_default": 1}
        cur.execute("SELECT onemap_ensure_position_partition('2026-03-02')")
        cur.execute(
            "SELECT tableoid::regclass::text FROM vehicle_positions "
            "WHERE vehicle_code = 'V1' AND fix_time = '2026-03-02 00:00:00+08'"
        )
        assert cur.fetchone()[0] == "vehicle_positions_20260302"


def test_duplicate_fix_is_refused(db):
    import psycopg2

    with db.cursor() as cur:
        cur.execute("SELECT onemap_ensure_position_partition('2026-03-05')")
        row = "('V2', '2026-03-05 10:00:00+08', ST_SetSRID(ST_MakePoint(121.2, 31.9), 4326))"
        cur.execute(f"INSERT INTO vehicle_positions (vehicle_code, fix_time, geom) VALUES {row}")
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute(
                f"INSERT INTO vehicle_positions (vehicle_code, fix_time, geom) VALUES {row}"
            )


def test_one_open_version_per_grid(db):
    import psycopg2

    poly = "ST_Multi(ST_MakeEnvelope(121.2, 31.9, 121.21, 31.91, 4326))"
    with db.cursor() as cur:
        cur.execute(
            f"INSERT INTO grids (code, name, town_code, grid_type, geom) VALUES ('G1', 'g', 'T', 'comprehensive', {poly})"
        )
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute(
                f"INSERT INTO grids (code, name, town_code, grid_type, version, geom) "
                f"VALUES ('G1', 'g', 'T', 'comprehensive', 2, {poly})"
            )
