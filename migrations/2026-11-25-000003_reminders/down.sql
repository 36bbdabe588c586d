DROP TABLE completion_criteria, reminder_snoozes, reminder_schedules, reminders, escalation_profiles;
