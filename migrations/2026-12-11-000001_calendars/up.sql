-- Calendars: a secret ICS address or a CalDAV collection per row (address and credentials sealed in
-- `source_ciphertext`: the ICS address is a capability URL), fetched on a schedule by the worker role; their
-- expanded event instances for the coming weeks; and the rules that let them pause, snooze, skip or hurry
-- reminders. The seed's unused `calendar_connections` goes.

DROP TABLE calendar_connections;

CREATE TABLE calendars (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('ics', 'caldav')),
    -- What the owner may see of the source: the host, never the secret path.
    source_host text NOT NULL,
    source_ciphertext bytea NOT NULL,
    holidays boolean NOT NULL DEFAULT false,
    etag text,
    last_modified text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'failing')),
    last_error text,
    failures integer NOT NULL DEFAULT 0,
    event_count integer NOT NULL DEFAULT 0,
    skipped_events integer NOT NULL DEFAULT 0,
    last_synced_at timestamptz,
    -- When the stored instances were last expanded; a 304 keeps them only while they still cover the window.
    expanded_at timestamptz,
    next_sync_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calendars_user ON calendars (user_id, created_at);
CREATE INDEX calendars_due ON calendars (next_sync_at);

CREATE TABLE calendar_events (
    calendar_id uuid NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    uid text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    summary text NOT NULL,
    categories text[] NOT NULL DEFAULT '{}',
    all_day boolean NOT NULL,
    busy boolean NOT NULL,
    PRIMARY KEY (calendar_id, uid, starts_at)
);
-- The engine reads a batch's owners' events around their occurrences.
CREATE INDEX calendar_events_user_time ON calendar_events (user_id, starts_at);

CREATE TABLE calendar_rules (
    id uuid PRIMARY KEY,
    calendar_id uuid NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    match jsonb NOT NULL,
    action text NOT NULL CHECK (action IN ('PAUSE_DURING', 'SNOOZE_UNTIL_END', 'SKIP_DAY', 'ESCALATE_FASTER')),
    -- NULL: every reminder of the owner.
    reminder_ids uuid[],
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calendar_rules_user ON calendar_rules (user_id);
-- Whether a calendar has rules (the engine reads only such calendars' events), and the cascade on delete.
CREATE INDEX calendar_rules_calendar ON calendar_rules (calendar_id);

ALTER TABLE reminder_schedules ADD COLUMN skip_holidays boolean NOT NULL DEFAULT false;
