-- Change counters without a hot row (issue 14).
-- 0004 bumped ONE row per layer in every writing statement; that row stayed
-- locked until commit, so concurrent writers to `events` (intake) queued one
-- behind the other. Now each layer has SLOTS counter rows; a transaction bumps
-- the slot of its own transaction id (pg_current_xact_id() % 32), so
-- concurrent transactions (consecutive ids) land on different rows.
-- `layer_changes` becomes a view: version = the sum of the layer's slots (every
-- committed statement adds 1 to one slot, so the sum rises with every change
-- and never goes back, whatever order transactions commit in), changed_at =
-- the newest slot's time. Readers are unchanged.
CREATE TABLE layer_change_slots (
    layer      text NOT NULL,
    slot       smallint NOT NULL,
    version    bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (layer, slot)
);

INSERT INTO layer_change_slots (layer, slot, version, changed_at)
SELECT layer, 0, version, changed_at FROM layer_changes;

DROP TABLE layer_changes;

CREATE VIEW layer_changes AS
SELECT layer, sum(version)::bigint AS version, max(changed_at) AS changed_at
FROM layer_change_slots GROUP BY layer;

CREATE OR REPLACE FUNCTION onemap_bump_layer_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layer_change_slots AS c (layer, slot, version, changed_at)
    VALUES (TG_TABLE_NAME, (pg_current_xact_id()::text::bigint % 32)::smallint, 1,
            clock_timestamp())
    ON CONFLICT (layer, slot) DO UPDATE
        SET version = c.version + 1, changed_at = clock_timestamp();
    RETURN NULL;
END
$$;

-- Statistics for a year without a join on the timeline (issue 14): the number
-- of 退回 returns kept on the event by the lifecycle, the auto-dispatch flag
-- derived from the reason, and one narrow index that answers the per-town and
-- per-department figures for a period by an index-only scan.
ALTER TABLE events
    ADD COLUMN return_count integer NOT NULL DEFAULT 0 CHECK (return_count >= 0),
    ADD COLUMN auto_dispatched boolean
        GENERATED ALWAYS AS (coalesce(dispatch_reason LIKE 'duty rule%', false)) STORED;

UPDATE events e SET return_count = r.n
FROM (SELECT event_code, count(*) AS n FROM event_actions WHERE action = 'return'
      GROUP BY event_code) r
WHERE r.event_code = e.code;

CREATE INDEX events_stats ON events (created_at)
    INCLUDE (town_code, department_code, status, closed_at, due_at, satisfaction, return_count,
             auto_dispatched);

-- OGC Part 4 may not set an event's loop columns (gis_server/ogc/writes/feature.py):
-- an event it creates starts where intake's do, in the dispatcher's "new" queue.
ALTER TABLE events ALTER COLUMN status SET DEFAULT 'received';
