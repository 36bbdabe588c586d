-- A downgrade pauses the newest connected calendars and IMAP mailbox watchers beyond the new tier's
-- allowance, as it already pauses reminders, channels and trusted contacts: kept, but not fetched, polled or
-- weighed by the engine until they fit again (an upgrade, or deleting others). NULL: in use.
ALTER TABLE calendars ADD COLUMN paused_reason text;
ALTER TABLE watchers ADD COLUMN paused_reason text;
