ALTER TABLE deliveries RESET (fillfactor);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
DROP INDEX deliveries_owed;
ALTER TABLE deliveries DROP COLUMN owed;
