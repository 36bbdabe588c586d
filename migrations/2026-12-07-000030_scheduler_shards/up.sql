-- Scheduler shards (SCHEDULER_SHARDS): the reminders are split into parts by a hash of their id, each part
-- with its own leader, advisory lock and fencing epoch (a `scheduler_leases` row named `scheduler:K/N`,
-- made by the first candidate; with one shard the row stays `scheduler`, as before).

-- The part of `shards` that a reminder belongs to: the last 32 bits of its id (random in v4 and v7 ids) modulo
-- the count. A plain SQL expression, so the planner inlines it into the engine's queries.
CREATE FUNCTION reminder_shard(id uuid, shards integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (('x' || right(id::text, 8))::bit(32)::bigint % shards)::integer $$;

-- Every scheduler process, leading or standing by, while it runs: how many there are decides each one's fair
-- share of the shards, so a process that started first hands shards over to one that started later.
CREATE TABLE scheduler_candidates (
    holder text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
