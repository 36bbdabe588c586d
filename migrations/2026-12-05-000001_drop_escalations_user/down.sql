CREATE INDEX escalations_user ON escalations (user_id, fired_at DESC);
