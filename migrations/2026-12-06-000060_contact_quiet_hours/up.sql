-- A trusted contact's own quiet hours (API.md); NULL means the owner's.
ALTER TABLE trusted_contacts ADD COLUMN quiet_hours_start time, ADD COLUMN quiet_hours_end time;
