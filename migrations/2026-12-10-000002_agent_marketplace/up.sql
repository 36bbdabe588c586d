-- Third-party agent types (FEATURE_MARKETPLACE): a developer registers a manifest, an admin approves it,
-- users subscribe with a config its schema accepts. An approved type gets a row in agent_definitions (named
-- `x-…`, so it never collides with a built-in), which puts it in the catalogue and lets subscriptions point at
-- it. Deliveries to it go out on the `agent` channel.

ALTER TABLE agent_definitions DROP CONSTRAINT agent_definitions_agent_type_check;
ALTER TABLE agent_definitions ADD CONSTRAINT agent_definitions_agent_type_check
    CHECK (agent_type IN ('email', 'sms', 'webhook', 'pull', 'push') OR agent_type ~ '^x-[a-z0-9][a-z0-9-]{1,38}$');
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('email', 'sms', 'webhook', 'pull', 'push', 'agent'));

CREATE TABLE marketplace_agents (
    id uuid PRIMARY KEY,
    developer_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_type text NOT NULL UNIQUE CHECK (agent_type ~ '^x-[a-z0-9][a-z0-9-]{1,38}$'),
    name text NOT NULL,
    description text NOT NULL,
    capabilities text[] NOT NULL,
    config_schema jsonb NOT NULL,
    callback_url text,
    -- The signing secret (both directions), sealed to this row's id; the previous one during a rotation.
    secret_ciphertext bytea NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'suspended')),
    status_reason text,
    timeout_ms integer NOT NULL DEFAULT 5000 CHECK (timeout_ms BETWEEN 500 AND 10000),
    max_payload_bytes integer NOT NULL DEFAULT 16384 CHECK (max_payload_bytes BETWEEN 1024 AND 65536),
    requests_per_minute integer NOT NULL DEFAULT 600 CHECK (requests_per_minute BETWEEN 1 AND 6000),
    allowed_hosts text[] NOT NULL DEFAULT '{}',
    consecutive_failures integer NOT NULL DEFAULT 0,
    last_failure text,
    approved_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX marketplace_agents_developer ON marketplace_agents (developer_id);
CREATE INDEX marketplace_agents_pending ON marketplace_agents (created_at) WHERE status = 'pending';
CREATE TRIGGER marketplace_agents_updated_at BEFORE UPDATE ON marketplace_agents
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Commands an agent sent, by its message id: a repeat gets the first answer and changes nothing.
CREATE TABLE agent_commands (
    agent_id uuid NOT NULL REFERENCES marketplace_agents (id) ON DELETE CASCADE,
    message_id text NOT NULL,
    delivery_id uuid NOT NULL,
    command text NOT NULL,
    status smallint NOT NULL,
    answer jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, message_id)
);
CREATE INDEX agent_commands_received ON agent_commands (received_at);
