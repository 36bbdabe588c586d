ALTER TABLE trusted_contacts DROP COLUMN paused_reason;
ALTER TABLE user_agent_subscriptions DROP COLUMN paused_reason;
