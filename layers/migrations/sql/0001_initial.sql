-- onemap initial schema: every layer, storage CRS EPSG:4326.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE towns (
    gid        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('town','subdistrict','zone','farm')),
    area_km2   double precision,
    geom       geometry(MultiPolygon, 4326) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX towns_geom_gist ON towns USING gist (geom);

-- Grid versions: an edit closes a row (valid_to) and opens a new one; a
-- version is never overwritten. At most one open version per code.
CREATE TABLE grids (
    gid          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code         text NOT NULL,
    name         text NOT NULL,
    town_code    text NOT NULL,
    grid_type    text NOT NULL CHECK (grid_type IN ('comprehensive','special','police','river_chief')),
    worker_name  text,
    worker_phone text,
    population   integer CHECK (population >= 0),
    households   integer CHECK (households >= 0),
    area_km2     double precision,
    version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    valid_from   timestamptz NOT NULL DEFAULT now(),
    valid_to     timestamptz CHECK (valid_to IS NULL OR valid_to > valid_from),
    geom         geometry(MultiPolygon, 4326) NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (code, version)
);
CREATE UNIQUE INDEX grids_code_current ON grids (code) WHERE valid_to IS NULL;
CREATE INDEX grids_geom_gist ON grids USING gist (geom);
CREATE INDEX grids_town_code ON grids (town_code);
CREATE INDEX grids_type ON grids (grid_type);
CREATE INDEX grids_valid ON grids (valid_from, valid_to);

CREATE TABLE cameras (
    gid          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('xueliang','high_altitude','riverside','body_cam')),
    stream_url   text,
    status       text NOT NULL DEFAULT 'online' CHECK (status IN ('online','offline','fault')),
    grid_code    text,
    town_code    text,
    installed_on date,
    geom         geometry(Point, 4326) NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cameras_geom_gist ON cameras USING gist (geom);
CREATE INDEX cameras_grid_code ON cameras (grid_code);
CREATE INDEX cameras_status ON cameras (status);
CREATE INDEX cameras_kind ON cameras (kind);

-- Vehicles carry their last known position, updated by the GPS feed.
CREATE TABLE vehicles (
    gid         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    plate       text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('sanitation','muck','sweeper','patrol_boat')),
    company     text,
    town_code   text,
    last_fix_at timestamptz,
    speed_kmh   double precision,
    heading     double precision,
    geom        geometry(Point, 4326),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vehicles_geom_gist ON vehicles USING gist (geom);
CREATE INDEX vehicles_kind ON vehicles (kind);
CREATE INDEX vehicles_plate ON vehicles (plate);

-- GPS fixes, one partition per day (Asia/Shanghai days) on fix_time.
-- (vehicle_code, fix_time) is the natural key that deduplicates a feed.
CREATE SEQUENCE vehicle_positions_id_seq AS bigint;
CREATE TABLE vehicle_positions (
    id           bigint NOT NULL DEFAULT nextval('vehicle_positions_id_seq'),
    vehicle_code text NOT NULL,
    fix_time     timestamptz NOT NULL,
    speed_kmh    real,
    heading      real,
    geom         geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (vehicle_code, fix_time)
) PARTITION BY RANGE (fix_time);
ALTER SEQUENCE vehicle_positions_id_seq OWNED BY vehicle_positions.id;
CREATE INDEX vehicle_positions_geom_gist ON vehicle_positions USING gist (geom);
CREATE INDEX vehicle_positions_fix_time ON vehicle_positions (fix_time);
CREATE INDEX vehicle_positions_id ON vehicle_positions (id);
CREATE TABLE vehicle_positions_default PARTITION OF vehicle_positions DEFAULT;

-- Create the partition holding one Asia/Shanghai day; idempotent. Rows of that
-- day already sitting in the default partition are moved into it.
CREATE FUNCTION onemap_ensure_position_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    part text := 'vehicle_positions_' || to_char(day, 'YYYYMMDD');
    lo timestamptz := (day::timestamp AT TIME ZONE 'Asia/Shanghai');
    hi timestamptz := ((day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai');
    moved bigint;
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN part;
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS _onemap_moving (LIKE vehicle_positions) ON COMMIT DROP;
    DELETE FROM _onemap_moving;
    WITH m AS (DELETE FROM vehicle_positions_default WHERE fix_time >= lo AND fix_time < hi RETURNING *)
    INSERT INTO _onemap_moving SELECT * FROM m;
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXECUTE format('CREATE TABLE %I PARTITION OF vehicle_positions FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    IF moved > 0 THEN
        INSERT INTO vehicle_positions SELECT * FROM _onemap_moving;
    END IF;
    RETURN part;
END $$;

-- One track per vehicle per day: LineString with M = epoch seconds of each fix.
CREATE TABLE vehicle_tracks (
    gid          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    vehicle_code text NOT NULL,
    plate        text,
    kind         text,
    day          date NOT NULL,
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz NOT NULL,
    fix_count    integer NOT NULL,
    distance_km  double precision,
    geom         geometry(LineStringM, 4326) NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (vehicle_code, day)
);
CREATE INDEX vehicle_tracks_geom_gist ON vehicle_tracks USING gist (geom);
CREATE INDEX vehicle_tracks_time ON vehicle_tracks (started_at, ended_at);

CREATE TABLE river_patrol_zones (
    gid               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code              text NOT NULL UNIQUE,
    name              text NOT NULL,
    river             text NOT NULL,
    zone_kind         text NOT NULL CHECK (zone_kind IN ('fishing_ban','patrol','outfall','sand_mining_ban')),
    river_chief       text,
    river_chief_level text,
    town_code         text,
    area_km2          double precision,
    geom              geometry(MultiPolygon, 4326) NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX river_patrol_zones_geom_gist ON river_patrol_zones USING gist (geom);
CREATE INDEX river_patrol_zones_kind ON river_patrol_zones (zone_kind);

CREATE TABLE events (
    gid         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    title       text NOT NULL,
    source      text NOT NULL CHECK (source IN ('hotline_12345','grid_worker','video','wechat','city_management')),
    category    text NOT NULL,
    subcategory text,
    status      text NOT NULL CHECK (status IN ('accepted','dispatched','handling','reviewing','closed')),
    priority    text NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal','urgent','critical')),
    grid_code   text,
    town_code   text,
    department  text,
    address     text,
    created_at  timestamptz NOT NULL,
    due_at      timestamptz,
    closed_at   timestamptz CHECK (closed_at IS NULL OR closed_at >= created_at),
    geom        geometry(Point, 4326) NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX events_geom_gist ON events USING gist (geom);
CREATE INDEX events_created_at ON events (created_at);
CREATE INDEX events_status ON events (status);
CREATE INDEX events_category ON events (category);
CREATE INDEX events_grid_code ON events (grid_code);
CREATE INDEX events_due_at ON events (due_at) WHERE status <> 'closed';

CREATE TABLE event_contacts (
    event_code     text PRIMARY KEY REFERENCES events (code) ON DELETE CASCADE,
    reporter_name  text,
    reporter_phone text
);
