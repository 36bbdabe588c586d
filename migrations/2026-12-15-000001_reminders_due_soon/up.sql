-- The scheduler sleeps until the next due instant it knows of, and at most SCHEDULER_TICK_MS (up to a
-- minute). A reminder created, moved or snoozed to fall due before then would wait for the rest of that sleep:
-- this tells a sleeping scheduler (which LISTENs on `reminders_due_soon`, see src/roles/due_soon.rs) to look
-- again. Only rows now due within a minute notify: the engine's own writes move a reminder to its next
-- occurrence, nearly always further away, and each notifying commit takes the notification queue's lock,
-- which a burst of them would wait on. One transaction's notifications are sent once.
CREATE FUNCTION notify_reminder_due_soon() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('reminders_due_soon', '');
    RETURN NULL;
END $$;

CREATE TRIGGER reminders_due_soon
    AFTER INSERT OR UPDATE OF next_trigger_at, snoozed_until, status ON reminders
    FOR EACH ROW
    WHEN ((NEW.status = 'active' AND NEW.next_trigger_at < now() + interval '1 minute')
          OR (NEW.status = 'snoozed' AND NEW.snoozed_until < now() + interval '1 minute'))
    EXECUTE FUNCTION notify_reminder_due_soon();
