-- The engine's two remaining per-row key checks become delete cascades (measured with benches/engine_burst.rs).
--
-- A foreign key checks every inserted row with a query of its own (a lookup and a row lock, about 15 µs
-- each here, and re-planned per row on our connections, which plan every statement for its parameters):
-- at 100 000 reminders due at once they were an eighth of all the CPU the burst used. Neither check can
-- fail for the rows the engine writes:
--   * an episode is inserted only by the fire step, in the transaction that holds its reminder's row lock
--     (`FOR UPDATE`), so the reminder exists and cannot be deleted before the episode commits;
--   * a delivery is inserted only for an episode created in the same transaction (fire) or locked
--     `FOR UPDATE` by it (advance, wake, acknowledge window), so the episode exists likewise.
-- What the keys also did is cascade deletes (a deleted user or reminder takes its episodes and deliveries
-- with it); statement triggers keep doing that, once per statement rather than once per row.

ALTER TABLE escalations DROP CONSTRAINT escalations_reminder_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_escalation_id_fkey;

CREATE FUNCTION delete_escalations_of_deleted_reminders() RETURNS trigger AS $$
BEGIN
    DELETE FROM escalations e USING deleted_reminders r WHERE e.reminder_id = r.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reminders_delete_escalations AFTER DELETE ON reminders
    REFERENCING OLD TABLE AS deleted_reminders
    FOR EACH STATEMENT EXECUTE FUNCTION delete_escalations_of_deleted_reminders();

CREATE FUNCTION delete_deliveries_of_deleted_escalations() RETURNS trigger AS $$
BEGIN
    DELETE FROM deliveries d USING deleted_escalations e WHERE d.escalation_id = e.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER escalations_delete_deliveries AFTER DELETE ON escalations
    REFERENCING OLD TABLE AS deleted_escalations
    FOR EACH STATEMENT EXECUTE FUNCTION delete_deliveries_of_deleted_escalations();
