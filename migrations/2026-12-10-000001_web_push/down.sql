UPDATE escalation_profiles p SET tiers = (
    SELECT jsonb_agg(jsonb_set(t, '{channelTypes}', (t->'channelTypes') - 'push') ORDER BY n)
    FROM jsonb_array_elements(p.tiers) WITH ORDINALITY AS e(t, n))
WHERE p.is_preset;
UPDATE escalation_profiles SET description = 'An email now; more channels after an hour and three hours.'
WHERE is_preset AND name = 'Gentle';
DELETE FROM deliveries WHERE channel = 'push';
DELETE FROM user_agent_subscriptions WHERE agent_type = 'push';
DELETE FROM agent_definitions WHERE agent_type = 'push';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check CHECK (channel IN ('email', 'sms', 'webhook', 'pull'));
ALTER TABLE agent_definitions DROP CONSTRAINT agent_definitions_agent_type_check;
ALTER TABLE agent_definitions ADD CONSTRAINT agent_definitions_agent_type_check
    CHECK (agent_type IN ('email', 'sms', 'webhook', 'pull'));
