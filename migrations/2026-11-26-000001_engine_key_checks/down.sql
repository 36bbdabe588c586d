DROP TRIGGER escalations_delete_deliveries ON escalations;
DROP FUNCTION delete_deliveries_of_deleted_escalations();
DROP TRIGGER reminders_delete_escalations ON reminders;
DROP FUNCTION delete_escalations_of_deleted_reminders();
ALTER TABLE deliveries ADD CONSTRAINT deliveries_escalation_id_fkey
    FOREIGN KEY (escalation_id) REFERENCES escalations (id) ON DELETE CASCADE;
ALTER TABLE escalations ADD CONSTRAINT escalations_reminder_id_fkey
    FOREIGN KEY (reminder_id) REFERENCES reminders (id) ON DELETE CASCADE;
