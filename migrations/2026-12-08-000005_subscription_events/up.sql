-- Revenue history for the admin stats (issue 22 item 6). A subscription "pays" while it is ACTIVE (or PAST_DUE:
-- at risk, not gone) on a tier other than FREE (an admin's override is a grant, not revenue, and is not looked
-- at). Every change of that,
-- whichever code path made it (Square's webhooks, checkout, reactivation), is recorded by the trigger in the
-- same transaction as the change: started, changed (to another paid tier) or cancelled.
CREATE TABLE subscription_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('started', 'changed', 'cancelled')),
    -- The paid tier after the event; for a cancellation, the tier that was paid for.
    tier text NOT NULL,
    previous_tier text,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_events_at ON subscription_events (at);
CREATE INDEX subscription_events_user ON subscription_events (user_id, at);

CREATE FUNCTION record_subscription_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    paid_before boolean := TG_OP = 'UPDATE' AND OLD.status IN ('ACTIVE', 'PAST_DUE') AND OLD.tier <> 'FREE';
    paid_now boolean := NEW.status IN ('ACTIVE', 'PAST_DUE') AND NEW.tier <> 'FREE';
BEGIN
    IF paid_now AND NOT paid_before THEN
        INSERT INTO subscription_events (user_id, kind, tier) VALUES (NEW.user_id, 'started', NEW.tier);
    ELSIF paid_before AND NOT paid_now THEN
        INSERT INTO subscription_events (user_id, kind, tier) VALUES (NEW.user_id, 'cancelled', OLD.tier);
    ELSIF paid_before AND paid_now AND OLD.tier <> NEW.tier THEN
        INSERT INTO subscription_events (user_id, kind, tier, previous_tier)
        VALUES (NEW.user_id, 'changed', NEW.tier, OLD.tier);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER subscriptions_paid_changes AFTER INSERT OR UPDATE OF tier, status ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION record_subscription_event();

-- What is paid for now, as if it had started when the row was made: history before this migration is not known.
INSERT INTO subscription_events (user_id, kind, tier, at)
SELECT user_id, 'started', tier, created_at FROM subscriptions WHERE status IN ('ACTIVE', 'PAST_DUE') AND tier <> 'FREE';
