-- Per-layer change counters for HTTP caching (ETag / Last-Modified).
-- One row per layer table, bumped by a statement-level trigger: one UPDATE per
-- writing statement, not per row. Readers take the whole (tiny) table.
CREATE TABLE layer_changes (
    layer      text PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION onemap_bump_layer_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layer_changes AS c (layer, version, changed_at)
    VALUES (TG_TABLE_NAME, 1, clock_timestamp())
    ON CONFLICT (layer) DO UPDATE
        SET version = c.version + 1, changed_at = clock_timestamp();
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['towns', 'grids', 'cameras', 'vehicles', 'vehicle_positions',
                             'vehicle_tracks', 'river_patrol_zones', 'events']
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION onemap_bump_layer_change()',
            t || '_layer_change', t);
        EXECUTE format(
            'CREATE TRIGGER %I AFTER TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION onemap_bump_layer_change()',
            t || '_layer_truncate', t);
        INSERT INTO layer_changes (layer) VALUES (t);
    END LOOP;
END
$$;
