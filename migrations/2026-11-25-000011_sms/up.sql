-- Inbound texts find their sender by the phone number of an SMS subscription.
CREATE INDEX user_agent_subscriptions_sms_phone ON user_agent_subscriptions ((config->>'phoneNumber'))
    WHERE agent_type = 'sms';
