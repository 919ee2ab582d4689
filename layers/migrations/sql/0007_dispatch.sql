-- The dispatch loop (issue 14): departments, duty rules, the event timeline,
-- co-handling, users' scopes, the loop's columns on events and the vocabularies
-- it needs. Existing rows are migrated to the new status and source codes.

CREATE TABLE departments (
    code       text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('bureau','police','town_office','utility','centre')),
    town_code  text,
    phone      text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'town_office') = (town_code IS NOT NULL))
);

CREATE TABLE duty_rules (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category         text NOT NULL CHECK (length(category) BETWEEN 1 AND 64),
    subcategory      text,
    town_code        text,
    department_code  text NOT NULL REFERENCES departments (code) ON UPDATE CASCADE,
    time_limit_hours double precision NOT NULL CHECK (time_limit_hours > 0),
    urgent_hours     double precision CHECK (urgent_hours > 0),
    critical_hours   double precision CHECK (critical_hours > 0),
    same_day         boolean NOT NULL DEFAULT false,
    note             text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT duty_rules_key UNIQUE NULLS NOT DISTINCT (category, subcategory, town_code)
);
CREATE INDEX duty_rules_department ON duty_rules (department_code);

-- events: new vocabularies (old rows migrated), the loop's columns.
ALTER TABLE events DROP CONSTRAINT events_status_check;
ALTER TABLE events DROP CONSTRAINT events_source_check;
UPDATE events SET status = CASE status
        WHEN 'accepted' THEN 'received' WHEN 'handling' THEN 'accepted'
        WHEN 'reviewing' THEN 'resolved' ELSE status END
    WHERE status IN ('accepted', 'handling', 'reviewing');
UPDATE events SET source = 'camera_ai' WHERE source = 'video';
ALTER TABLE events ADD CONSTRAINT events_status_check CHECK (status IN
    ('received','manual','dispatched','accepted','returned','resolved','verified','closed'));
ALTER TABLE events ADD CONSTRAINT events_source_check CHECK (source IN
    ('hotline_12345','city_management','camera_ai','geofence','grid_worker','wechat','centre'));

ALTER TABLE events
    ADD COLUMN external_id      text CHECK (length(external_id) BETWEEN 1 AND 128),
    ADD COLUMN description      text,
    ADD COLUMN department_code  text,
    ADD COLUMN grid_worker      text,
    ADD COLUMN dispatch_reason  text,
    ADD COLUMN version          integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD COLUMN escalation_level integer NOT NULL DEFAULT 0 CHECK (escalation_level >= 0),
    ADD COLUMN satisfaction     text CHECK (satisfaction IN ('satisfied','basic','unsatisfied')),
    ADD COLUMN photos           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(photos) = 'array'),
    ADD COLUMN dispatched_at    timestamptz,
    ADD COLUMN accepted_at      timestamptz,
    ADD COLUMN resolved_at      timestamptz,
    ADD COLUMN verified_at      timestamptz,
    ADD COLUMN overdue_at       timestamptz;
ALTER TABLE events ADD CONSTRAINT events_source_external_id UNIQUE (source, external_id);
CREATE INDEX events_department_code ON events (department_code, status);

-- Codes of events submitted through the API: EV<yyyymmdd><6 digits>.
CREATE SEQUENCE event_code_seq;

CREATE TABLE event_actions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_code      text NOT NULL REFERENCES events (code) ON DELETE CASCADE,
    action          text NOT NULL CHECK (action IN ('receive','auto_dispatch','queue_manual',
        'dispatch','accept','return','resolve','verify','reopen','close','escalate','cohandle',
        'callback','overdue')),
    from_status     text,
    to_status       text NOT NULL,
    actor           text NOT NULL,
    actor_user_id   bigint,
    role            text,
    at              timestamptz NOT NULL DEFAULT now(),
    note            text,
    department_code text
);
CREATE INDEX event_actions_event ON event_actions (event_code, at);
CREATE INDEX event_actions_at ON event_actions (at);

CREATE TABLE event_cohandlers (
    event_code      text NOT NULL REFERENCES events (code) ON DELETE CASCADE,
    department_code text NOT NULL REFERENCES departments (code),
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_code, department_code)
);

-- Roles: reporter (intake systems), grid_worker and handler join the ladder.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN
    ('viewer','reporter','grid_worker','handler','dispatcher','gis_editor','admin'));
ALTER TABLE users ADD COLUMN department_code text;

CREATE TABLE user_grids (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grid_code text NOT NULL,
    PRIMARY KEY (user_id, grid_code)
);
