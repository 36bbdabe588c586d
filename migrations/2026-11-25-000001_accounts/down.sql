DROP TABLE scheduler_leases, processed_webhook_events, idempotency_keys, event_logs, audit_trails,
    system_health_snapshots, support_notes, admin_actions, admin_users, refresh_tokens, refresh_sessions,
    api_keys, user_profiles, users;
DROP FUNCTION set_updated_at();
