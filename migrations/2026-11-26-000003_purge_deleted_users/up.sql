-- Accounts deleted through the API are erased once `purge_after` passes (the scheduler's upkeep step).
-- The admin log keeps its entries about an erased account, without the link to it.
ALTER TABLE admin_actions DROP CONSTRAINT admin_actions_target_user_id_fkey;
ALTER TABLE admin_actions ADD CONSTRAINT admin_actions_target_user_id_fkey
    FOREIGN KEY (target_user_id) REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX users_purge_due ON users (purge_after) WHERE deleted_at IS NOT NULL;
