DELETE FROM watcher_events WHERE source = 'imap_watcher';
ALTER TABLE watcher_events DROP CONSTRAINT watcher_events_source_check;
ALTER TABLE watcher_events ADD CONSTRAINT watcher_events_source_check
    CHECK (source IN ('email_watcher', 'email_reply', 'hook'));

DROP INDEX watchers_imap_due;
DELETE FROM watchers WHERE kind = 'imap';
ALTER TABLE watchers
    DROP CONSTRAINT watchers_imap_complete,
    DROP COLUMN imap_host,
    DROP COLUMN imap_port,
    DROP COLUMN imap_tls,
    DROP COLUMN imap_folder,
    DROP COLUMN secret_ciphertext,
    DROP COLUMN uid_validity,
    DROP COLUMN last_uid,
    DROP COLUMN poll_status,
    DROP COLUMN last_error,
    DROP COLUMN failures,
    DROP COLUMN last_polled_at,
    DROP COLUMN next_poll_at;
ALTER TABLE watchers DROP CONSTRAINT watchers_kind_check;
ALTER TABLE watchers ADD CONSTRAINT watchers_kind_check CHECK (kind IN ('email'));
