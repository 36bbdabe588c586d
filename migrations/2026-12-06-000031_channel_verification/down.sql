DROP TABLE outreach_sends;
ALTER TABLE user_agent_subscriptions
    DROP COLUMN verified_at,
    DROP COLUMN verification_code_hash,
    DROP COLUMN verification_expires_at,
    DROP COLUMN verification_attempts;
