DROP INDEX IF EXISTS watcher_events_message;
DROP INDEX IF EXISTS watcher_events_hook_occurrence;
ALTER TABLE watcher_events DROP COLUMN message_id, DROP COLUMN occurrence_at, DROP COLUMN hook_id;
