-- Retention (upkeep deletes rows past their age, see src/escalation/engine/retention.rs) finds old rows by
-- their creation time. These are BRIN indexes: each column grows with the table's insertion order, so a
-- block range summary finds the old end of the table, costs next to nothing per inserted row and never
-- changes on update (updates stay HOT). A b-tree would add an index entry to every delivery and episode
-- the engine writes (see 2026-11-25-000006_engine_write_cost).
CREATE INDEX deliveries_created_brin ON deliveries USING brin (created_at);
CREATE INDEX escalations_created_brin ON escalations USING brin (created_at);
CREATE INDEX audit_trails_created_brin ON audit_trails USING brin (created_at);
CREATE INDEX event_logs_created_brin ON event_logs USING brin (created_at);
CREATE INDEX processed_webhook_events_processed_brin ON processed_webhook_events USING brin (processed_at);
CREATE INDEX action_link_uses_used_brin ON action_link_uses USING brin (used_at);
CREATE INDEX pending_notifications_created_brin ON pending_notifications USING brin (created_at);
-- Confirmed pull notifications are pruned a week after confirmation; few rows, a small partial b-tree.
CREATE INDEX pending_notifications_confirmed ON pending_notifications (delivered_at) WHERE delivered_at IS NOT NULL;
