-- A delivery's id is derived from its key (episode, tier, loop, target, channel: `DeliveryId::of`), so the
-- primary key already makes a repeat insert a no-op. The six-column unique key was a second, wide unique index
-- that every insert and every outcome (an update that leaves the owed index, so not HOT) wrote and checked:
-- about a tenth of Postgres's work per delivery in the burst profile (issue 21). An episode's deliveries are
-- found through a narrow index instead.
CREATE INDEX deliveries_escalation ON deliveries (escalation_id);
ALTER TABLE deliveries DROP CONSTRAINT deliveries_escalation_id_tier_loop_index_target_kind_target_key;

-- Firing a reminder updates its row (the next trigger is indexed, so the update is not HOT). With full pages
-- the new version goes to another page, which costs a second buffer, an extra lock record in the WAL and the
-- loss of the WAL's same-page prefix compression: two `Heap/LOCK` records per fired reminder in
-- `benches/engine_writes.rs`. Room on each page keeps the new version beside the old one.
ALTER TABLE reminders SET (fillfactor = 80);
