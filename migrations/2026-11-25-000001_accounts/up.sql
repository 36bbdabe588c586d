-- Accounts, sessions, admin, audit, idempotency and the scheduler's fencing row.

CREATE FUNCTION set_updated_at() RETURNS trigger AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    timezone text NOT NULL DEFAULT 'UTC',
    quiet_hours_start time,
    quiet_hours_end time,
    preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
    email_verified_at timestamptz,
    deleted_at timestamptz,
    purge_after timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL))
);
-- One live account per address; a soft-deleted account frees its address.
CREATE UNIQUE INDEX users_email_live ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_profiles (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    phone text,
    locale text NOT NULL DEFAULT 'en',
    avatar_url text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER user_profiles_updated_at BEFORE UPDATE ON user_profiles FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix text NOT NULL,
    key_hash bytea NOT NULL UNIQUE,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user ON api_keys (user_id) WHERE revoked_at IS NULL;

-- A session is one login: a family of refresh tokens that rotate on every use.
CREATE TABLE refresh_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent text,
    ip text,
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_sessions_user ON refresh_sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid NOT NULL REFERENCES refresh_sessions (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    rotated_at timestamptz,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE admin_users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('SUPER_ADMIN', 'SUPPORT', 'BILLING', 'READONLY')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER admin_users_updated_at BEFORE UPDATE ON admin_users FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE admin_actions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    admin_user_id uuid NOT NULL REFERENCES admin_users (id),
    action text NOT NULL,
    target_user_id uuid REFERENCES users (id),
    reason text NOT NULL,
    changes jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip text,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_actions_created ON admin_actions (created_at DESC);
CREATE INDEX admin_actions_target ON admin_actions (target_user_id, created_at DESC);

CREATE TABLE support_notes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    admin_user_id uuid NOT NULL REFERENCES admin_users (id),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_notes_user ON support_notes (user_id, created_at DESC);

CREATE TABLE system_health_snapshots (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    taken_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL CHECK (status IN ('ok', 'degraded', 'down')),
    data jsonb NOT NULL
);
CREATE INDEX system_health_snapshots_taken ON system_health_snapshots (taken_at DESC);

-- Append-only: who did what, from where. No secrets, no bodies.
CREATE TABLE audit_trails (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_kind text NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'admin', 'system', 'contact', 'link', 'anonymous')),
    action text NOT NULL,
    target_type text,
    target_id text,
    status smallint,
    ip text,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_trails_actor ON audit_trails (actor_user_id, created_at DESC);

CREATE TABLE event_logs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    subject_id uuid,
    data jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_logs_user ON event_logs (user_id, created_at DESC);

CREATE TABLE idempotency_keys (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method text NOT NULL,
    path text NOT NULL,
    request_hash bytea NOT NULL,
    response_status smallint,
    response_body bytea,
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE processed_webhook_events (
    provider text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- The scheduler singleton's fencing epoch: incremented by each new leader, checked by its writes.
CREATE TABLE scheduler_leases (
    name text PRIMARY KEY,
    epoch bigint NOT NULL DEFAULT 0,
    holder text,
    acquired_at timestamptz,
    heartbeat_at timestamptz
);
INSERT INTO scheduler_leases (name) VALUES ('scheduler');
