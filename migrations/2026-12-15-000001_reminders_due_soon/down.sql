DROP TRIGGER reminders_due_soon ON reminders;
DROP FUNCTION notify_reminder_due_soon();
