-- The Postgres-only claim (workers without Redis) reads the owed index in order and stops at its limit.
--
-- Its query filters `status = 'pending'` on the heap (the index holds claimed rows too, so that a claim stays
-- a HOT update; see 2026-12-07-000021_deliveries_hot_claim). The planner estimates that filter from the
-- table's statistics, where nearly every row is final, so during a burst it chose a bitmap scan of every
-- owed row due, then a sort, to return 100 of them: 300-600 ms a claim with 100 000 owed (seen with
-- EXPLAIN ANALYZE in the middle of `benches/peers_burst.rs`), and 2 439 deliveries/s instead of 7 981.
-- Read in index order, a claim visits the rows in flight at the head of the queue and then the ones it
-- takes. A function's own settings apply to the planning of its query, so this plan holds whatever the
-- statistics say, in one statement.
CREATE FUNCTION claimable_deliveries(due_by timestamptz, max_rows bigint) RETURNS SETOF uuid
    LANGUAGE sql VOLATILE
    SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
    AS $$
        SELECT id FROM deliveries
        WHERE owed AND status = 'pending' AND next_attempt_at <= due_by
        ORDER BY next_attempt_at LIMIT max_rows
        FOR UPDATE SKIP LOCKED
    $$;
