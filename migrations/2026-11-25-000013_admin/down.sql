DROP INDEX admin_actions_admin;
CREATE INDEX system_health_snapshots_taken ON system_health_snapshots (taken_at DESC);
DROP INDEX system_health_snapshots_slot;
