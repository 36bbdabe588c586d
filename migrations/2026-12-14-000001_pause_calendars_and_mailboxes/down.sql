ALTER TABLE watchers DROP COLUMN paused_reason;
ALTER TABLE calendars DROP COLUMN paused_reason;
