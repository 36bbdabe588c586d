-- Onboarding: the first steps of a new account (time zone, first channel, first reminder), shown on the
-- console's home page until done or dismissed. A step is done when the data says so (a channel exists) or
-- when the person said so here; this row keeps only what the data cannot tell.
CREATE TABLE onboarding_progress (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    completed_steps text[] NOT NULL DEFAULT '{}'
        CHECK (completed_steps <@ ARRAY['timezone', 'channel', 'reminder']::text[]),
    dismissed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER onboarding_progress_updated_at BEFORE UPDATE ON onboarding_progress
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Accounts that existed before are past their first steps: the panel is not put in front of them now.
INSERT INTO onboarding_progress (user_id, dismissed_at) SELECT id, now() FROM users;
