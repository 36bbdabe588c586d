-- Channels (agents), subscriptions to them, trusted contacts, watchers and completion hooks.

CREATE TABLE agent_definitions (
    agent_type text PRIMARY KEY CHECK (agent_type IN ('email', 'sms', 'webhook', 'pull')),
    name text NOT NULL,
    description text NOT NULL,
    config_schema jsonb NOT NULL,
    min_tier text NOT NULL DEFAULT 'FREE' CHECK (min_tier IN ('FREE', 'PERSONAL', 'PRO', 'FAMILY')),
    enabled boolean NOT NULL DEFAULT true
);
INSERT INTO agent_definitions (agent_type, name, description, config_schema, min_tier) VALUES
('email', 'Email', 'An email with action links.',
 '{"type":"object","required":["address"],"additionalProperties":false,"properties":{"address":{"type":"string","format":"email","maxLength":254}}}', 'FREE'),
('sms', 'SMS', 'A text message through Twilio; reply ACK, DONE or SNOOZE 1h.',
 '{"type":"object","required":["phoneNumber"],"additionalProperties":false,"properties":{"phoneNumber":{"type":"string","pattern":"^\\+[1-9][0-9]{7,14}$"}}}', 'PERSONAL'),
('webhook', 'Webhook', 'A signed JSON POST (Standard Webhooks) to your URL.',
 '{"type":"object","required":["url"],"additionalProperties":false,"properties":{"url":{"type":"string","format":"uri","maxLength":2048}}}', 'FREE'),
('pull', 'Pull agent', 'Your agent polls GET /v1/notifications/pending with an API key.',
 '{"type":"object","additionalProperties":false,"properties":{"name":{"type":"string","maxLength":100}}}', 'FREE');

CREATE TABLE user_agent_subscriptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_type text NOT NULL REFERENCES agent_definitions (agent_type),
    name text,
    -- Non-secret settings only (address, phone number, URL).
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- AES-256-GCM (nonce || ciphertext) of secret settings, with the row id as associated data.
    secret_ciphertext bytea,
    previous_secret_ciphertext bytea,
    previous_secret_expires_at timestamptz,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    last_used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_agent_subscriptions_user ON user_agent_subscriptions (user_id, agent_type);
CREATE TRIGGER user_agent_subscriptions_updated_at BEFORE UPDATE ON user_agent_subscriptions FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE trusted_contacts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    email text,
    phone text,
    relationship text,
    timezone text,
    consent_status text NOT NULL DEFAULT 'pending'
        CHECK (consent_status IN ('pending', 'accepted', 'declined', 'opted_out')),
    invited_at timestamptz,
    accepted_at timestamptz,
    opted_out_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (email IS NOT NULL OR phone IS NOT NULL)
);
CREATE INDEX trusted_contacts_user ON trusted_contacts (user_id);
CREATE TRIGGER trusted_contacts_updated_at BEFORE UPDATE ON trusted_contacts FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Numbers that replied STOP: never texted again until START.
CREATE TABLE sms_opt_outs (
    phone text PRIMARY KEY,
    opted_out_at timestamptz NOT NULL DEFAULT now()
);

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

CREATE TABLE completion_hooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reminder_id uuid NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    default_action text NOT NULL DEFAULT 'complete' CHECK (default_action IN ('acknowledge', 'complete', 'snooze')),
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX completion_hooks_reminder ON completion_hooks (reminder_id);

CREATE TABLE watchers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reminder_id uuid NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
    kind text NOT NULL DEFAULT 'email' CHECK (kind IN ('email')),
    sender_pattern text,
    subject_keyword text,
    body_keyword text,
    action text NOT NULL DEFAULT 'complete' CHECK (action IN ('acknowledge', 'complete')),
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (sender_pattern IS NOT NULL OR subject_keyword IS NOT NULL OR body_keyword IS NOT NULL)
);
CREATE INDEX watchers_user ON watchers (user_id) WHERE enabled;

CREATE TABLE watcher_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    watcher_id uuid REFERENCES watchers (id) ON DELETE SET NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reminder_id uuid REFERENCES reminders (id) ON DELETE SET NULL,
    source text NOT NULL CHECK (source IN ('email_watcher', 'email_reply', 'hook')),
    action text NOT NULL,
    summary text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX watcher_events_user ON watcher_events (user_id, created_at DESC);
