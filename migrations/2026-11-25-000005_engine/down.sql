DROP TABLE action_link_uses, pending_notifications, deliveries, escalations;
