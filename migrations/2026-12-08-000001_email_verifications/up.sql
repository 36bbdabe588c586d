-- Email verification: a link mailed at sign-up proves that the account's address is its owner's. Until
-- then the account may add email channels only to that address (anyone could otherwise make us mail any
-- address a stranger types). Only the SHA-256 of a link's token is stored; a link works once, until
-- expires_at, and asking for a new one ends the older ones (the same shape as password_resets).
--
-- Accounts that existed before count as verified: they have been using their address all along, and
-- taking email channels away from every existing account would break more than it protects. Their
-- updated_at is left as it was (this is not a change they made).
ALTER TABLE users DISABLE TRIGGER users_updated_at;
UPDATE users SET email_verified_at = created_at WHERE email_verified_at IS NULL;
ALTER TABLE users ENABLE TRIGGER users_updated_at;

CREATE TABLE email_verifications (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_verifications_user ON email_verifications (user_id);
