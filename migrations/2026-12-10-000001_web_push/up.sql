-- Web Push: a `push` channel whose subscription is a browser's push endpoint and keys (sealed in
-- `secret_ciphertext`, like a webhook's signing secret; the endpoint is a capability URL). The presets lean on
-- it as the seed system's did: Gentle starts with it, Urgent and Critical use it on every tier.

ALTER TABLE agent_definitions DROP CONSTRAINT agent_definitions_agent_type_check;
ALTER TABLE agent_definitions ADD CONSTRAINT agent_definitions_agent_type_check
    CHECK (agent_type IN ('email', 'sms', 'webhook', 'pull', 'push'));
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('email', 'sms', 'webhook', 'pull', 'push'));

INSERT INTO agent_definitions (agent_type, name, description, config_schema, min_tier) VALUES
('push', 'Browser push', 'A notification on this browser or installed app, with Acknowledge, Snooze and Done buttons.',
 '{"type":"object","required":["endpoint","keys"],"additionalProperties":false,"properties":{"endpoint":{"type":"string","format":"uri","maxLength":2048},"expirationTime":{"type":["integer","null"]},"keys":{"type":"object","required":["p256dh","auth"],"additionalProperties":false,"properties":{"p256dh":{"type":"string"},"auth":{"type":"string"}}}}}',
 'FREE');

-- Push first on the tiers the seed's presets pushed on (a user without a push channel gets the rest, as today).
UPDATE escalation_profiles p SET tiers = (
    SELECT jsonb_agg(CASE WHEN (p.name = 'Gentle' AND (t->>'tierNumber') = '1') OR p.name IN ('Urgent', 'Critical')
                          THEN jsonb_set(t, '{channelTypes}', '["push"]'::jsonb || (t->'channelTypes'))
                          ELSE t END ORDER BY n)
    FROM jsonb_array_elements(p.tiers) WITH ORDINALITY AS e(t, n))
WHERE p.is_preset AND p.name IN ('Gentle', 'Urgent', 'Critical');
UPDATE escalation_profiles SET description = 'A push and an email now; more channels after an hour and three hours.'
WHERE is_preset AND name = 'Gentle';
