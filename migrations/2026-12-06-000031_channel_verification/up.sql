-- An email address or phone number proves it wants our messages before it gets any but the code that
-- proves it: otherwise a channel (or a test send, or an invitation) is a relay for spam and SMS toll fraud.
-- Only a hash of the code is stored. Channels that existed before keep working: their owners have been
-- receiving on them, and breaking every existing account would be worse than trusting them.
ALTER TABLE user_agent_subscriptions
    ADD COLUMN verified_at timestamptz,
    ADD COLUMN verification_code_hash bytea,
    ADD COLUMN verification_expires_at timestamptz,
    ADD COLUMN verification_attempts integer NOT NULL DEFAULT 0;
UPDATE user_agent_subscriptions SET verified_at = created_at;

-- Messages sent to an address nobody has confirmed yet (verification codes, contact invitations), so they
-- can be limited per address and per account whatever rows are deleted and created in between.
CREATE TABLE outreach_sends (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('verification', 'invitation')),
    address text NOT NULL,
    sent_at timestamptz NOT NULL
);
CREATE INDEX outreach_sends_by_user ON outreach_sends (user_id, kind, sent_at);
