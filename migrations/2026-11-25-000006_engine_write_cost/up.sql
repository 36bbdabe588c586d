-- Cheaper engine writes, measured with benches/engine_burst.rs (the fire step inserts ~500 episodes and
-- ~500 deliveries per transaction; every foreign key is one index probe per inserted row).

-- The unique (escalation_id, tier, loop_index, …) index already serves every lookup by escalation.
DROP INDEX deliveries_escalation;

-- A delivery's reminder_id and user_id are copies of its escalation's, and the escalation's own keys
-- cascade from reminders and users: these two only cost probes, they protect nothing more.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_reminder_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_user_id_fkey;

-- An escalation's user is its reminder's user; deleting a user deletes the reminder, which cascades here.
ALTER TABLE escalations DROP CONSTRAINT escalations_user_id_fkey;
