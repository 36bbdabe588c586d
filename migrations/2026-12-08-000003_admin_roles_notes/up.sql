-- Role management (issue 22 item 7). Revoking an admin keeps the row, so the action log and support notes
-- that name it still say who acted; a revoked row grants nothing.
ALTER TABLE admin_users ADD COLUMN revoked_at timestamptz;

-- Support notes can be edited and pinned; pinned ones are listed first.
ALTER TABLE support_notes
    ADD COLUMN pinned boolean NOT NULL DEFAULT false,
    ADD COLUMN updated_at timestamptz;
