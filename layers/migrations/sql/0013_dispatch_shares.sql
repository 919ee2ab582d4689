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
