-- The engine: escalation episodes and the deliveries they owe. Every owed delivery is a row here.

CREATE TABLE escalations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    reminder_id uuid NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    occurrence_at timestamptz NOT NULL,
    -- The profile as resolved when the reminder fired (tiers with concrete targets).
    plan jsonb NOT NULL,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'acknowledged', 'completed', 'expired', 'cancelled')),
    end_reason text CHECK (end_reason IN ('exhausted', 'superseded', 'snoozed', 'cancelled')),
    current_tier smallint NOT NULL DEFAULT 0,
    loop_index smallint NOT NULL DEFAULT 0,
    fired_at timestamptz NOT NULL,
    loop_started_at timestamptz NOT NULL,
    next_step_at timestamptz,
    ack_until timestamptz,
    acknowledged_at timestamptz,
    completed_at timestamptz,
    acted_by text,
    scheduler_epoch bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (reminder_id, occurrence_at)
);
-- At most one open episode per reminder.
CREATE UNIQUE INDEX escalations_one_open ON escalations (reminder_id) WHERE status IN ('active', 'acknowledged');
CREATE INDEX escalations_due ON escalations (next_step_at) WHERE status IN ('active', 'acknowledged') AND next_step_at IS NOT NULL;
CREATE INDEX escalations_user ON escalations (user_id, fired_at DESC);
CREATE TRIGGER escalations_updated_at BEFORE UPDATE ON escalations FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    escalation_id uuid NOT NULL REFERENCES escalations (id) ON DELETE CASCADE,
    reminder_id uuid NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier smallint NOT NULL,
    loop_index smallint NOT NULL,
    target_kind text NOT NULL CHECK (target_kind IN ('subscription', 'contact', 'test')),
    target_id uuid NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'webhook', 'pull')),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    offered_at timestamptz,
    sent_at timestamptz,
    delivered_at timestamptz,
    deferred_reason text,
    last_error text,
    cancel_reason text,
    provider_message_id text,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (escalation_id, tier, loop_index, target_kind, target_id, channel)
);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_escalation ON deliveries (escalation_id);
CREATE INDEX deliveries_user ON deliveries (user_id, created_at DESC);
CREATE INDEX deliveries_provider_id ON deliveries (provider_message_id) WHERE provider_message_id IS NOT NULL;

-- Pull-mode inbox: what a pull agent has not yet confirmed.
CREATE TABLE pending_notifications (
    delivery_id uuid PRIMARY KEY REFERENCES deliveries (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subscription_id uuid NOT NULL REFERENCES user_agent_subscriptions (id) ON DELETE CASCADE,
    payload jsonb NOT NULL,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_notifications_open ON pending_notifications (user_id, created_at) WHERE delivered_at IS NULL;

-- Single-use action links (acknowledge, complete, snooze) carried by notifications.
CREATE TABLE action_link_uses (
    token_id uuid PRIMARY KEY,
    used_at timestamptz NOT NULL DEFAULT now(),
    outcome text NOT NULL
);
