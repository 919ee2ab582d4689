-- Grid workers on duty (上岗/下岗) and vessels that are not patrol boats (helper D).
--
-- A duty period is open (ended_at NULL) from 上岗 to 下岗; the phone's positions are
-- stored only while one is open (the API refuses them otherwise). worker_locations
-- holds each worker's latest position (what the big screen and dispatch read);
-- worker_positions the reports of the last `dispatch.duty.keep_days` days (older rows
-- are deleted whenever someone goes on duty): one per worker and minute, bounded.

ALTER TABLE vehicles DROP CONSTRAINT vehicles_kind_check;
ALTER TABLE vehicles ADD CONSTRAINT vehicles_kind_check
    CHECK (kind IN ('sanitation','muck','sweeper','patrol_boat','fishing_boat','cargo_ship'));

-- a vessel (not a patrol boat) inside a 禁捕区 (fishing-ban zone) at night
ALTER TABLE geofence_alerts DROP CONSTRAINT geofence_alerts_rule_check;
ALTER TABLE geofence_alerts ADD CONSTRAINT geofence_alerts_rule_check
    CHECK (rule IN ('forbidden_zone', 'left_patrol_zone', 'fishing_ban_night'));

CREATE TABLE worker_duties (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- at most one open duty period per worker
CREATE UNIQUE INDEX worker_duties_open ON worker_duties (user_id) WHERE ended_at IS NULL;
CREATE INDEX worker_duties_user ON worker_duties (user_id, started_at);

CREATE TABLE worker_positions (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fix_time   timestamptz NOT NULL,
    duty_id    bigint NOT NULL REFERENCES worker_duties (id) ON DELETE CASCADE,
    accuracy_m real,
    geom       geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (user_id, fix_time)
);
CREATE INDEX worker_positions_fix_time ON worker_positions (fix_time);
CREATE INDEX worker_positions_duty ON worker_positions (duty_id);

CREATE TABLE worker_locations (
    user_id    bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    duty_id    bigint NOT NULL REFERENCES worker_duties (id) ON DELETE CASCADE,
    fix_time   timestamptz NOT NULL,
    accuracy_m real,
    geom       geometry(Point, 4326) NOT NULL
);
CREATE INDEX worker_locations_geom_gist ON worker_locations USING gist (geom);
