-- 协办 shares: a co-handling department records its part (done_at, by whom, its note);
-- the timeline gains the actions cohandle_done and photo (an uploaded photo is a step too).
ALTER TABLE event_cohandlers
    ADD COLUMN done_at   timestamptz,
    ADD COLUMN done_by   text,
    ADD COLUMN done_note text;

ALTER TABLE event_actions DROP CONSTRAINT event_actions_action_check;
ALTER TABLE event_actions ADD CONSTRAINT event_actions_action_check CHECK (action IN
    ('receive','auto_dispatch','queue_manual','dispatch','accept','return','resolve','verify',
     'reopen','close','escalate','cohandle','cohandle_done','callback','overdue','photo'));

-- Processes keep API-key principals a few seconds (gis_server/auth/key_cache.py): any change
-- to a key or a user other than its use stamps tells them to drop what they hold, whichever
-- path made it (CLI, admin API, SQL). Compared as JSON so columns added later count too.
CREATE FUNCTION onemap_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - TG_ARGV) = (to_jsonb(NEW) - TG_ARGV) THEN
        RETURN NULL;  -- only a use stamp moved (last_used_at, last_login_at)
    END IF;
    PERFORM pg_notify('onemap_auth', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_auth_changed AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION onemap_auth_changed('last_used_at');
CREATE TRIGGER users_auth_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION onemap_auth_changed('last_login_at', 'password_hash');

-- Statistics for a year in a few milliseconds (issue 14: < 200 ms): a per-day rollup of the
-- figures /api/dispatch/stats shows, by the local day an event was received, its town and its
-- department. Statement triggers with transition tables keep it: each statement on events
-- subtracts what its old rows contributed and adds what its new rows do, set-wise (a bulk load
-- or the demo's set-wise loop is one upsert per statement, an intake one row's). Sums only, so
-- the rates computed from it equal the query over the events (layers/dispatch/stats.py).
CREATE TABLE event_stats_daily (
    day             date    NOT NULL,
    town_code       text,
    department_code text,
    received        bigint  NOT NULL DEFAULT 0,
    auto_dispatched bigint  NOT NULL DEFAULT 0,
    closed          bigint  NOT NULL DEFAULT 0,
    on_time         bigint  NOT NULL DEFAULT 0,
    on_time_n       bigint  NOT NULL DEFAULT 0,
    handled_n       bigint  NOT NULL DEFAULT 0,
    handled_s       numeric NOT NULL DEFAULT 0,
    returns         bigint  NOT NULL DEFAULT 0,
    satisfied       bigint  NOT NULL DEFAULT 0,
    rated           bigint  NOT NULL DEFAULT 0,
    CONSTRAINT event_stats_daily_key UNIQUE NULLS NOT DISTINCT (day, town_code, department_code)
);

-- The upsert that adds `rows_sql`'s rows (SELECT sign, <event columns> …) to the rollup, as text:
-- the trigger EXECUTEs it itself, since transition tables are visible only to its own queries.
CREATE FUNCTION onemap_event_stats_sql(rows_sql text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
SELECT format($q$
    INSERT INTO event_stats_daily AS s (day, town_code, department_code, received,
        auto_dispatched, closed, on_time, on_time_n, handled_n, handled_s, returns,
        satisfied, rated)
    SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date, town_code, department_code,
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
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
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

CREATE FUNCTION onemap_event_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cols constant text := 'created_at, town_code, department_code, auto_dispatched, status, '
        'closed_at, due_at, return_count, satisfaction';
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

CREATE TRIGGER events_stats_insert AFTER INSERT ON events REFERENCING NEW TABLE AS stats_new
    FOR EACH STATEMENT EXECUTE FUNCTION onemap_event_stats();
CREATE TRIGGER events_stats_update AFTER UPDATE ON events
    REFERENCING OLD TABLE AS stats_old NEW TABLE AS stats_new
    FOR EACH STATEMENT EXECUTE FUNCTION onemap_event_stats();
CREATE TRIGGER events_stats_delete AFTER DELETE ON events REFERENCING OLD TABLE AS stats_old
    FOR EACH STATEMENT EXECUTE FUNCTION onemap_event_stats();

CREATE FUNCTION onemap_event_stats_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_stats_daily;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_stats_truncate AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION onemap_event_stats_truncate();

DO $$
BEGIN
    EXECUTE onemap_event_stats_sql('SELECT 1 AS sign, created_at, town_code, department_code, '
        'auto_dispatched, status, closed_at, due_at, return_count, satisfaction FROM events');
END
$$;
