-- Escalation profiles (with the shared presets), reminders and their schedules.

CREATE TABLE escalation_profiles (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text CHECK (length(description) <= 2000),
    -- [{tierNumber, delayMinutes, agentSubscriptionIds, channelTypes, trustedContactIds, includeTrustedContacts, message}]
    tiers jsonb NOT NULL CHECK (jsonb_typeof(tiers) = 'array'),
    repeat_count smallint NOT NULL DEFAULT 0 CHECK (repeat_count BETWEEN 0 AND 10),
    ack_window_minutes integer NOT NULL DEFAULT 60 CHECK (ack_window_minutes BETWEEN 0 AND 10080),
    loop_gap_minutes integer CHECK (loop_gap_minutes BETWEEN 1 AND 10080),
    is_preset boolean NOT NULL DEFAULT false,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (is_preset = (user_id IS NULL))
);
CREATE INDEX escalation_profiles_user ON escalation_profiles (user_id);
CREATE TRIGGER escalation_profiles_updated_at BEFORE UPDATE ON escalation_profiles FOR EACH ROW EXECUTE FUNCTION set_updated_at();

INSERT INTO escalation_profiles (id, user_id, name, description, tiers, repeat_count, ack_window_minutes, loop_gap_minutes, is_preset) VALUES
('00000000-0000-4000-8000-000000000001', NULL, 'Gentle', 'An email now; more channels after an hour and three hours.',
 '[{"tierNumber":1,"delayMinutes":0,"channelTypes":["email"]},
   {"tierNumber":2,"delayMinutes":60,"channelTypes":["email","webhook","pull"]},
   {"tierNumber":3,"delayMinutes":180,"channelTypes":["email","sms"]}]', 0, 60, NULL, true),
('00000000-0000-4000-8000-000000000002', NULL, 'Urgent', 'Email and SMS now, again at 5 and 15 minutes, trusted contacts at 30.',
 '[{"tierNumber":1,"delayMinutes":0,"channelTypes":["email","sms"]},
   {"tierNumber":2,"delayMinutes":5,"channelTypes":["email","sms"]},
   {"tierNumber":3,"delayMinutes":15,"channelTypes":["email","sms","webhook"]},
   {"tierNumber":4,"delayMinutes":30,"channelTypes":["email","sms"],"includeTrustedContacts":true}]', 0, 30, NULL, true),
('00000000-0000-4000-8000-000000000003', NULL, 'Critical', 'Email and SMS now; trusted contacts join at 2, 5, 10 and 15 minutes.',
 '[{"tierNumber":1,"delayMinutes":0,"channelTypes":["email","sms"]},
   {"tierNumber":2,"delayMinutes":2,"channelTypes":["email","sms"],"includeTrustedContacts":true},
   {"tierNumber":3,"delayMinutes":5,"channelTypes":["email","sms","webhook"],"includeTrustedContacts":true},
   {"tierNumber":4,"delayMinutes":10,"channelTypes":["email","sms","webhook"],"includeTrustedContacts":true},
   {"tierNumber":5,"delayMinutes":15,"channelTypes":["email","sms","webhook"],"includeTrustedContacts":true}]', 2, 15, 5, true),
('00000000-0000-4000-8000-000000000004', NULL, 'Medication', 'Nags every 10 minutes for an hour, then asks a trusted contact.',
 '[{"tierNumber":1,"delayMinutes":0,"channelTypes":["pull","email"]},
   {"tierNumber":2,"delayMinutes":10,"channelTypes":["pull","sms"]},
   {"tierNumber":3,"delayMinutes":20,"channelTypes":["sms"]},
   {"tierNumber":4,"delayMinutes":30,"channelTypes":["sms","email"]},
   {"tierNumber":5,"delayMinutes":40,"channelTypes":["sms"]},
   {"tierNumber":6,"delayMinutes":50,"channelTypes":["sms","webhook"]},
   {"tierNumber":7,"delayMinutes":60,"channelTypes":["sms"],"includeTrustedContacts":true}]', 0, 20, NULL, true),
('00000000-0000-4000-8000-000000000005', NULL, 'Bill due', 'An email every morning and an SMS every afternoon until it is paid (up to 10 days).',
 '[{"tierNumber":1,"delayMinutes":0,"channelTypes":["email"]},
   {"tierNumber":2,"delayMinutes":480,"channelTypes":["email","sms"]}]', 10, 240, 960, true);

CREATE TABLE reminders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text CHECK (length(description) <= 2000),
    importance text NOT NULL DEFAULT 'medium' CHECK (importance IN ('low', 'medium', 'high', 'critical')),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'snoozed', 'completed', 'archived')),
    escalation_profile_id uuid NOT NULL REFERENCES escalation_profiles (id),
    timezone text NOT NULL,
    next_trigger_at timestamptz,
    snoozed_until timestamptz,
    completed_at timestamptz,
    archived_at timestamptz,
    -- Set while the billing tier no longer covers this reminder: it stays readable but does not escalate.
    paused_reason text,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'snoozed' OR snoozed_until IS NOT NULL)
);
CREATE INDEX reminders_user ON reminders (user_id, created_at DESC);
-- The scheduler's fire and wake scans read only due rows.
CREATE INDEX reminders_due ON reminders (next_trigger_at) WHERE status = 'active' AND next_trigger_at IS NOT NULL;
CREATE INDEX reminders_snoozed ON reminders (snoozed_until) WHERE status = 'snoozed';
CREATE INDEX reminders_profile ON reminders (escalation_profile_id);
CREATE TRIGGER reminders_updated_at BEFORE UPDATE ON reminders FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE reminder_schedules (
    reminder_id uuid PRIMARY KEY REFERENCES reminders (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('once', 'cron', 'interval', 'rrule')),
    trigger_at timestamptz,
    expression text CHECK (length(expression) <= 500),
    interval_minutes integer CHECK (interval_minutes BETWEEN 1 AND 525600),
    start_at timestamptz,
    dtstart timestamp,
    timezone text NOT NULL,
    exclude_dates date[] NOT NULL DEFAULT '{}',
    skip_weekends boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'once' OR trigger_at IS NOT NULL),
    CHECK (kind <> 'cron' OR expression IS NOT NULL),
    CHECK (kind <> 'interval' OR (interval_minutes IS NOT NULL AND start_at IS NOT NULL)),
    CHECK (kind <> 'rrule' OR (expression IS NOT NULL AND dtstart IS NOT NULL))
);
CREATE TRIGGER reminder_schedules_updated_at BEFORE UPDATE ON reminder_schedules FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE reminder_snoozes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    reminder_id uuid NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
    until timestamptz NOT NULL,
    phrase text,
    interpreted_as text,
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reminder_snoozes_reminder ON reminder_snoozes (reminder_id, created_at DESC);

CREATE TABLE completion_criteria (
    reminder_id uuid PRIMARY KEY REFERENCES reminders (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('manual', 'webhook', 'email_watcher')),
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
