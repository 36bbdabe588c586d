-- Completion evidence bookkeeping on watcher_events: the hook and the occurrence a completion hook acted on
-- (a hook acts once per occurrence), and the Message-ID of the inbound email a row came from (SendGrid
-- retries a post it saw fail; the same message must act once).
ALTER TABLE watcher_events
    ADD COLUMN hook_id uuid REFERENCES completion_hooks (id) ON DELETE SET NULL,
    ADD COLUMN occurrence_at timestamptz,
    ADD COLUMN message_id text;

CREATE UNIQUE INDEX watcher_events_hook_occurrence ON watcher_events (reminder_id, occurrence_at)
    WHERE source = 'hook';
CREATE UNIQUE INDEX watcher_events_message ON watcher_events (user_id, source, watcher_id, message_id)
    NULLS NOT DISTINCT WHERE message_id IS NOT NULL;
