-- Cookie sessions of the web console. Each belongs to a login session (refresh_sessions), so revoking that
-- session (sign-out, password change, account deletion, the user's session list) ends the console session
-- too. Only the SHA-256 of the cookie value is stored.
CREATE TABLE console_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    refresh_session_id uuid NOT NULL REFERENCES refresh_sessions (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
