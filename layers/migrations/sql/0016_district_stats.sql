-- The daily statistics rollup (0013) by district too (issue 16): a district's statistics of
-- whole days read the rollup instead of its events. The triggers group by the event's
-- district_code (0015), so a town moving district moves its events' figures with them.

ALTER TABLE event_stats_daily ADD COLUMN district_code text;
ALTER TABLE event_stats_daily DROP CONSTRAINT event_stats_daily_key;
DELETE FROM event_stats_daily;  -- rebuilt below, by district
ALTER TABLE event_stats_daily ADD CONSTRAINT event_stats_daily_key
    UNIQUE NULLS NOT DISTINCT (day, town_code, department_code, district_code);
CREATE INDEX event_stats_daily_district ON event_stats_daily (district_code, day);

CREATE OR REPLACE FUNCTION onemap_event_stats_sql(rows_sql text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
SELECT format($q$
    INSERT INTO event_stats_daily AS s (day, town_code, department_code, district_code,
        received, auto_dispatched, closed, on_time, on_time_n, handled_n, handled_s, returns,
        satisfied, rated)
    SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date, town_code, department_code,
        district_code,
        sum(sign),
        sum(sign * coalesce(auto_dispatched, false)::int),
        sum(sign * (status = 'closed')::int),
        sum(sign * coalesce(status = 'closed' AND closed_at <= due_at, false)::int),
        sum(sign * (status = 'closed' AND closed_at IS NOT NULL AND due_at IS NOT NULL)::int),
        sum(sign * (closed_at IS NOT NULL)::int),
        sum(sign * coalesce(extract(epoch FROM closed_at - created_at), 0)),
        sum(sign * return_count),
        sum(sign * coalesce(satisfaction IN ('satisfied', 'basic'), false)::int),
        sum(sign * (satisfaction IS NOT NULL)::int)
    FROM (%s) r WHERE created_at IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT event_stats_daily_key DO UPDATE SET
        received = s.received + EXCLUDED.received,
        auto_dispatched = s.auto_dispatched + EXCLUDED.auto_dispatched,
        closed = s.closed + EXCLUDED.closed, on_time = s.on_time + EXCLUDED.on_time,
        on_time_n = s.on_time_n + EXCLUDED.on_time_n,
        handled_n = s.handled_n + EXCLUDED.handled_n,
        handled_s = s.handled_s + EXCLUDED.handled_s, returns = s.returns + EXCLUDED.returns,
        satisfied = s.satisfied + EXCLUDED.satisfied, rated = s.rated + EXCLUDED.rated
$q$, rows_sql)
$f$;

CREATE OR REPLACE FUNCTION onemap_event_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cols constant text := 'created_at, town_code, department_code, district_code, '
        'auto_dispatched, status, closed_at, due_at, return_count, satisfaction';
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE onemap_event_stats_sql('SELECT 1 AS sign, ' || cols || ' FROM stats_new');
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE onemap_event_stats_sql('SELECT -1 AS sign, ' || cols || ' FROM stats_old');
    ELSE  -- only rows whose figures moved (a photo, a version bump, an escalation: none)
        EXECUTE onemap_event_stats_sql(
            'SELECT -1 AS sign, * FROM (SELECT ' || cols || ' FROM stats_old EXCEPT ALL '
            || 'SELECT ' || cols || ' FROM stats_new) gone UNION ALL '
            || 'SELECT 1, * FROM (SELECT ' || cols || ' FROM stats_new EXCEPT ALL '
            || 'SELECT ' || cols || ' FROM stats_old) came');
    END IF;
    RETURN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE onemap_event_stats_sql('SELECT 1 AS sign, created_at, town_code, department_code, '
        'district_code, auto_dispatched, status, closed_at, due_at, return_count, satisfaction '
        'FROM events');
END
$$;
