-- Sign in with Google (issue 22 item 1).
--
-- A Google account linked to one of ours: the provider's subject is the key, not the email (an address at
-- Google can change hands or be renamed; the subject never does).
CREATE TABLE user_identities (
    provider text NOT NULL CHECK (provider IN ('google')),
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the provider vouched for when the link was made or last used.
    email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- A sign-in under way: between the redirect to the provider and its callback. Only hashes of the state and of
-- the browser's cookie are kept; the row is deleted when the callback reads it (a state works once) and is
-- useless after expires_at. The nonce and the PKCE verifier are single-use and die with the row.
CREATE TABLE oidc_flows (
    state_hash bytea PRIMARY KEY,
    browser_hash bytea NOT NULL,
    nonce text NOT NULL,
    pkce_verifier text NOT NULL,
    -- Where the console goes afterwards; null when the callback answers with tokens (an API client).
    next text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);
