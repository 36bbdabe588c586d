DROP INDEX users_purge_due;
ALTER TABLE admin_actions DROP CONSTRAINT admin_actions_target_user_id_fkey;
ALTER TABLE admin_actions ADD CONSTRAINT admin_actions_target_user_id_fkey
    FOREIGN KEY (target_user_id) REFERENCES users (id);
