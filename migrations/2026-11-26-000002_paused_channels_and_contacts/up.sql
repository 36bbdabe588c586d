-- A downgrade pauses the newest channel subscriptions and trusted contacts beyond the new tier's limits, as
-- it does reminders: nothing is deleted, the engine stops using them, and they resume when a slot frees or
-- the tier rises again. Kept apart from `enabled`, which is the owner's own switch.
ALTER TABLE user_agent_subscriptions ADD COLUMN paused_reason text;
ALTER TABLE trusted_contacts ADD COLUMN paused_reason text;
