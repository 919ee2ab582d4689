-- onemap 0002: what the ETL records — import runs, vehicle trips, published rasters.

-- One row per import / job run: who ran it, when, on which file, with what result.
CREATE TABLE import_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    who         text NOT NULL,
    layer       text NOT NULL,
    job         text,
    file_name   text,
    sha256      text CHECK (sha256 IS NULL OR sha256 ~ '^[0-9a-f]{64}$'),
    status      text NOT NULL CHECK (status IN ('ok', 'partial', 'rejected', 'failed')),
    read_count  integer NOT NULL DEFAULT 0 CHECK (read_count >= 0),
    inserted    integer NOT NULL DEFAULT 0 CHECK (inserted >= 0),
    updated     integer NOT NULL DEFAULT 0 CHECK (updated >= 0),
    unchanged   integer NOT NULL DEFAULT 0 CHECK (unchanged >= 0),
    repaired    integer NOT NULL DEFAULT 0 CHECK (repaired >= 0),
    rejected    integer NOT NULL DEFAULT 0 CHECK (rejected >= 0),
    message     text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX import_log_layer_time ON import_log (layer, started_at DESC);
CREATE INDEX import_log_sha256 ON import_log (sha256);

-- Trips: a vehicle's movement between stops (>= N minutes still) or feed gaps,
-- within one Asia/Shanghai day. LineString with M = epoch seconds of each fix.
CREATE TABLE vehicle_trips (
    gid           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code          text NOT NULL UNIQUE,
    vehicle_code  text NOT NULL,
    day           date NOT NULL,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz NOT NULL CHECK (ended_at >= started_at),
    fix_count     integer NOT NULL CHECK (fix_count >= 2),
    distance_km   double precision,
    max_speed_kmh double precision,
    geom          geometry(LineStringM, 4326) NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vehicle_trips_vehicle_day ON vehicle_trips (vehicle_code, day);
CREATE INDEX vehicle_trips_time ON vehicle_trips (started_at, ended_at);
CREATE INDEX vehicle_trips_geom_gist ON vehicle_trips USING gist (geom);

-- Rasters published as OGC API coverages: Cloud-Optimized GeoTIFFs in EPSG:4326.
CREATE TABLE rasters (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z][A-Za-z0-9_\-]*$'),
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    path        text NOT NULL,
    source_file text,
    sha256      text,
    crs         text NOT NULL DEFAULT 'EPSG:4326',
    width       integer NOT NULL CHECK (width > 0),
    height      integer NOT NULL CHECK (height > 0),
    band_count  integer NOT NULL CHECK (band_count > 0),
    dtype       text NOT NULL,
    nodata      double precision,
    min_lon     double precision NOT NULL,
    min_lat     double precision NOT NULL,
    max_lon     double precision NOT NULL,
    max_lat     double precision NOT NULL,
    overviews   integer[] NOT NULL DEFAULT '{}',
    imported_by text,
    imported_at timestamptz NOT NULL DEFAULT now()
);

-- Text to timestamptz, NULL when it does not parse: lets the GPS importer drop a
-- fix with an impossible time instead of failing the whole feed.
CREATE FUNCTION onemap_try_timestamptz(value text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN value::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
