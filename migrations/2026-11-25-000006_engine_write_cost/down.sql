ALTER TABLE escalations ADD CONSTRAINT escalations_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_reminder_id_fkey
    FOREIGN KEY (reminder_id) REFERENCES reminders (id) ON DELETE CASCADE;
CREATE INDEX deliveries_escalation ON deliveries (escalation_id);
