-- Scoped API keys (helper A): the role a key acts with (NULL: its user's role; a key
-- never acts above its user, checked when the key is used) and the collections it may
-- write or read where reading is restricted (NULL: every collection).
ALTER TABLE api_keys
    ADD COLUMN role text,
    ADD COLUMN collections text[],
    ADD CONSTRAINT api_keys_role_known CHECK (
        role IS NULL OR role IN
        ('viewer', 'reporter', 'grid_worker', 'handler', 'dispatcher', 'gis_editor', 'admin')
    );
