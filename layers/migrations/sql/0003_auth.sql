-- onemap accounts, roles, sessions, login throttling and the audit trail.
-- Secrets are never stored: passwords as scrypt hashes (parameters and salt
-- inside the hash string), API keys and session tokens as SHA-256 digests.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username = lower(username) AND length(username) BETWEEN 2 AND 64),
    display_name  text,
    role          text NOT NULL CHECK (role IN ('viewer','dispatcher','gis_editor','admin')),
    password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    last_login_at timestamptz
);

-- A key is shown once as om_<key_id>_<secret>; key_id is public (it names
-- the key in lists and logs), secret_hash is the SHA-256 of the whole key.
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id       text NOT NULL UNIQUE CHECK (key_id ~ '^[0-9a-f]{12}$'),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    secret_hash  text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Console sessions: the cookie carries the token, the table its SHA-256.
CREATE TABLE sessions (
    token_hash   text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    client_ip    inet,
    user_agent   text
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed logins per (username, client): shared by every worker process.
CREATE TABLE login_failures (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username  text NOT NULL,
    client    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_key ON login_failures (username, client, at);

-- Who changed what, when, from where; before/after are the feature as JSON.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    actor_user_id bigint,
    role          text,
    auth_method   text,
    api_key_id    text,
    action        text NOT NULL,
    layer         text,
    feature_id    text,
    before        jsonb,
    after         jsonb,
    client_ip     inet
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_feature ON audit_log (layer, feature_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

-- The audit trail is append-only for the application: rows are never edited.
CREATE FUNCTION onemap_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (审计日志只允许追加)';
END;
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION onemap_audit_log_append_only();
