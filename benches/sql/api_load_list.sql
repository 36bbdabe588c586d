-- GET /v1/reminders (the first page, 20): the statements the api runs, in its order (read off
-- pg_stat_statements), as pgbench runs them. :user, :keyhash and :ids (the first page's ids, which the api
-- reads from the page it just loaded) come from `pgbench -D`.
WITH key AS (
    SELECT k.id, k.user_id FROM api_keys k JOIN users u ON u.id = k.user_id
    WHERE k.key_hash = decode(:keyhash, 'hex') AND k.revoked_at IS NULL AND u.deleted_at IS NULL),
touched AS (
    UPDATE api_keys SET last_used_at = now() WHERE id = (SELECT id FROM key)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
SELECT key.user_id, COALESCE(sub.tier_override, sub.tier, 'FREE') AS tier, key.id AS api_key_id
FROM key LEFT JOIN subscriptions sub ON sub.user_id = key.user_id;
SELECT count(*) FROM reminders WHERE user_id = :user::uuid AND status != 'archived';
SELECT id, user_id, title, description, importance, status, escalation_profile_id, timezone, next_trigger_at,
       snoozed_until, completed_at, archived_at, paused_reason, version, created_at, updated_at
FROM reminders WHERE user_id = :user::uuid AND status != 'archived'
ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0;
SELECT reminder_id, kind, trigger_at, expression, interval_minutes, start_at, dtstart, timezone, exclude_dates,
       skip_weekends, skip_holidays
FROM reminder_schedules WHERE reminder_id = ANY(:ids::uuid[]);
SELECT reminder_id, kind, config FROM completion_criteria WHERE reminder_id = ANY(:ids::uuid[]);
