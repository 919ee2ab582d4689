-- The live feed's geofences: zones muck trucks must not enter, and one alert per
-- episode (a vehicle inside a forbidden zone / a boat outside every patrol zone),
-- open while it lasts (ended_at NULL), closed by the first fix that ends it.

CREATE TABLE forbidden_zones (
    gid        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    kinds      text[] NOT NULL DEFAULT ARRAY['muck'],  -- vehicle kinds it forbids
    geom       geometry(MultiPolygon, 4326) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forbidden_zones_geom_gist ON forbidden_zones USING gist (geom);

CREATE TABLE geofence_alerts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule         text NOT NULL CHECK (rule IN ('forbidden_zone', 'left_patrol_zone')),
    vehicle_code text NOT NULL,
    zone_code    text NOT NULL DEFAULT '',  -- '' for left_patrol_zone
    started_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ended_at     timestamptz,
    fix_count    integer NOT NULL DEFAULT 1,
    geom         geometry(Point, 4326) NOT NULL,  -- where the episode began
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- at most one open episode per vehicle, rule and zone
CREATE UNIQUE INDEX geofence_alerts_open ON geofence_alerts (vehicle_code, rule, zone_code)
    WHERE ended_at IS NULL;
CREATE INDEX geofence_alerts_started ON geofence_alerts (started_at);
