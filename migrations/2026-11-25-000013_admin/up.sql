-- One health snapshot per 5-minute slot: `taken_at` is the slot's start, so two schedulers in a leader
-- handover that both try the same slot write one row between them.
DELETE FROM system_health_snapshots a USING system_health_snapshots b
 WHERE a.taken_at = b.taken_at AND a.id > b.id;
CREATE UNIQUE INDEX system_health_snapshots_slot ON system_health_snapshots (taken_at);
DROP INDEX system_health_snapshots_taken;

-- The audit log is filtered by admin and by action.
CREATE INDEX admin_actions_admin ON admin_actions (admin_user_id, created_at DESC);
