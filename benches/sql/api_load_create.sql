-- POST /v1/reminders for a one-off reminder with an API key: the statements the api runs, in its order
-- (read off pg_stat_statements), as pgbench runs them. Each client is one user, as each connection of the
-- api load was: the first statement (pgbench's only extra) reads that user and their key's hash.
-- :profile comes from `pgbench -D`.
\set n random(1, 1000000000)
SELECT user_id AS "user", key_hash AS keyhash FROM api_load_users WHERE n = :client_id \gset
WITH key AS (
    SELECT k.id, k.user_id FROM api_keys k JOIN users u ON u.id = k.user_id
    WHERE k.key_hash = decode(:keyhash, 'hex') AND k.revoked_at IS NULL AND u.deleted_at IS NULL),
touched AS (
    UPDATE api_keys SET last_used_at = now() WHERE id = (SELECT id FROM key)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
SELECT key.user_id, COALESCE(sub.tier_override, sub.tier, 'FREE') AS tier, key.id AS api_key_id
FROM key LEFT JOIN subscriptions sub ON sub.user_id = key.user_id;
BEGIN;
INSERT INTO subscriptions (user_id) VALUES (:user::uuid) ON CONFLICT (user_id) DO NOTHING;
SELECT id, user_id, tier, status, tier_override, square_subscription_id, current_period_end, cancel_at_period_end,
       delivery_state, delivery_state_reason, usage_suspended_until
FROM subscriptions WHERE user_id = :user::uuid LIMIT 1 FOR UPDATE;
SELECT id, email, password_hash, display_name, timezone, quiet_hours_start, quiet_hours_end, preferences,
       email_verified_at, deleted_at, created_at, updated_at
FROM users WHERE id = :user::uuid AND deleted_at IS NULL LIMIT 1;
SELECT id, user_id, name, description, tiers, repeat_count, ack_window_minutes, loop_gap_minutes, is_preset, version,
       created_at, updated_at
FROM escalation_profiles WHERE id = :profile::uuid AND (user_id = :user::uuid OR is_preset = true) LIMIT 1;
INSERT INTO reminders (user_id, title, description, importance, escalation_profile_id, timezone, next_trigger_at)
VALUES (:user::uuid, 'Load ' || :n, DEFAULT, 'medium', :profile::uuid, 'UTC', now() + interval '30 days')
RETURNING id, user_id, title, description, importance, status, escalation_profile_id, timezone, next_trigger_at,
          snoozed_until, completed_at, archived_at, paused_reason, version, created_at, updated_at \gset r_
INSERT INTO reminder_schedules (reminder_id, kind, trigger_at, timezone, exclude_dates, skip_weekends, skip_holidays)
VALUES (:r_id::uuid, 'once', now() + interval '30 days', 'UTC', '{}', false, false)
ON CONFLICT (reminder_id) DO UPDATE SET kind = EXCLUDED.kind, trigger_at = EXCLUDED.trigger_at;
INSERT INTO completion_criteria (reminder_id, kind, config) VALUES (:r_id::uuid, 'manual', '{}')
ON CONFLICT (reminder_id) DO UPDATE SET kind = EXCLUDED.kind, config = EXCLUDED.config;
SELECT reminder_id, kind, config FROM completion_criteria WHERE reminder_id = ANY(ARRAY[:r_id::uuid]);
SELECT reminder_id, kind, trigger_at, expression, interval_minutes, start_at, dtstart, timezone, exclude_dates,
       skip_weekends, skip_holidays
FROM reminder_schedules WHERE reminder_id = ANY(ARRAY[:r_id::uuid]);
INSERT INTO audit_trails (actor_user_id, actor_kind, action, status, ip, request_id)
VALUES (:user::uuid, 'api_key', 'POST /v1/reminders', 201, '127.0.0.1', 'bench');
COMMIT;
