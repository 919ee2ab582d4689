-- The audit trail made tamper-evident: each row carries the SHA-256 of its
-- content and of the row before it (chain_seq order). Editing, deleting or
-- inserting a row behind the application's back breaks the chain, and
-- `onemap audit verify` names the first row where it breaks.

ALTER TABLE audit_log ADD COLUMN chain_seq bigint, ADD COLUMN prev_hash bytea,
                      ADD COLUMN row_hash bytea;

-- The canonical text of a row: fixed formats whatever TimeZone or DateStyle say.
CREATE FUNCTION onemap_audit_digest(prev bytea, r audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(coalesce(prev, ''::bytea) || convert_to(concat_ws(E'\x1f',
        r.chain_seq::text, r.id::text,
        to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        r.actor, coalesce(r.actor_user_id::text, ''), coalesce(r.role, ''),
        coalesce(r.auth_method, ''), coalesce(r.api_key_id, ''), r.action,
        coalesce(r.layer, ''), coalesce(r.feature_id, ''),
        coalesce(r.before::text, ''), coalesce(r.after::text, ''),
        coalesce(host(r.client_ip), '')), 'UTF8'))
$$;

-- Rows written before the chain existed are chained in id order, once.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
DO $$
DECLARE
    r audit_log;
    prev bytea := NULL;
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        n := n + 1;
        r.chain_seq := n;
        r.prev_hash := prev;
        prev := onemap_audit_digest(prev, r);
        UPDATE audit_log SET chain_seq = n, prev_hash = r.prev_hash, row_hash = prev
         WHERE id = r.id;
    END LOOP;
END;
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;

ALTER TABLE audit_log ALTER COLUMN chain_seq SET NOT NULL,
                      ALTER COLUMN row_hash SET NOT NULL;
CREATE UNIQUE INDEX audit_log_chain_seq ON audit_log (chain_seq);

-- Appending takes a transaction-long lock, so the row it chains to is committed
-- (a rolled-back write leaves no gap) and two writers never fork the chain.
CREATE FUNCTION onemap_audit_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last audit_log;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('onemap_audit_chain'));
    SELECT * INTO last FROM audit_log ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
    NEW.prev_hash := last.row_hash;
    NEW.row_hash := onemap_audit_digest(NEW.prev_hash, NEW);
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION onemap_audit_chain();
