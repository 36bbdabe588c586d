ALTER TABLE trusted_contacts DROP COLUMN quiet_hours_start, DROP COLUMN quiet_hours_end;
