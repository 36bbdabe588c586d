-- IMAP mailbox watchers: a watcher whose mail comes from the user's own mailbox, polled by the worker role,
-- instead of mail forwarded to their watcher address. The columns stay NULL on email watchers. The user name
-- and app password are sealed together in secret_ciphertext (AES-GCM, bound to the row id), and bytea is
-- left out of the data export.
ALTER TABLE watchers DROP CONSTRAINT watchers_kind_check;
ALTER TABLE watchers ADD CONSTRAINT watchers_kind_check CHECK (kind IN ('email', 'imap'));

ALTER TABLE watchers
    ADD COLUMN imap_host text,
    ADD COLUMN imap_port integer CHECK (imap_port BETWEEN 1 AND 65535),
    ADD COLUMN imap_tls boolean,
    ADD COLUMN imap_folder text,
    ADD COLUMN secret_ciphertext bytea,
    -- UIDVALIDITY and the highest UID already looked at: only later UIDs are fetched.
    ADD COLUMN uid_validity bigint,
    ADD COLUMN last_uid bigint,
    ADD COLUMN poll_status text CHECK (poll_status IN ('pending', 'ok', 'failing')),
    ADD COLUMN last_error text,
    ADD COLUMN failures integer NOT NULL DEFAULT 0,
    ADD COLUMN last_polled_at timestamptz,
    ADD COLUMN next_poll_at timestamptz,
    ADD CONSTRAINT watchers_imap_complete CHECK (
        kind <> 'imap' OR (imap_host IS NOT NULL AND imap_port IS NOT NULL AND imap_tls IS NOT NULL
            AND imap_folder IS NOT NULL AND secret_ciphertext IS NOT NULL AND poll_status IS NOT NULL
            AND next_poll_at IS NOT NULL));

-- The poller's claim: due mailboxes, oldest first.
CREATE INDEX watchers_imap_due ON watchers (next_poll_at) WHERE kind = 'imap' AND enabled;

ALTER TABLE watcher_events DROP CONSTRAINT watcher_events_source_check;
ALTER TABLE watcher_events ADD CONSTRAINT watcher_events_source_check
    CHECK (source IN ('email_watcher', 'email_reply', 'hook', 'imap_watcher'));
