DROP TABLE agent_commands;
DELETE FROM user_agent_subscriptions WHERE agent_type LIKE 'x-%';
DELETE FROM agent_definitions WHERE agent_type LIKE 'x-%';
DROP TABLE marketplace_agents;
DELETE FROM deliveries WHERE channel = 'agent';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('email', 'sms', 'webhook', 'pull', 'push'));
ALTER TABLE agent_definitions DROP CONSTRAINT agent_definitions_agent_type_check;
ALTER TABLE agent_definitions ADD CONSTRAINT agent_definitions_agent_type_check
    CHECK (agent_type IN ('email', 'sms', 'webhook', 'pull', 'push'));
