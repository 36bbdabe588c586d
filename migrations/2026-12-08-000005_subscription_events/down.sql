DROP TRIGGER subscriptions_paid_changes ON subscriptions;
DROP FUNCTION record_subscription_event();
DROP TABLE subscription_events;
