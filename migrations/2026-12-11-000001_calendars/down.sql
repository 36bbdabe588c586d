ALTER TABLE reminder_schedules DROP COLUMN skip_holidays;
DROP TABLE calendar_rules, calendar_events, calendars;
CREATE TABLE calendar_connections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider text NOT NULL CHECK (provider IN ('google', 'microsoft', 'caldav')),
    external_account text NOT NULL,
    token_ciphertext bytea,
    sync_state jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, provider, external_account)
);
