ALTER TABLE support_notes DROP COLUMN updated_at, DROP COLUMN pinned;
ALTER TABLE admin_users DROP COLUMN revoked_at;
