-- A delivery's claim becomes a HOT update (measured with benches/engine_writes.rs).
--
-- Every delivery is written three times: inserted by the engine, claimed by a worker (status 'sending',
-- attempts, lease), and given its outcome. An update is HOT (one new row version on the same page, no new
-- index entry) only when no indexed column changes and the page has room. The claim changed `status`, which
-- the predicates of `deliveries_pending` and `deliveries_leased` read, and `lease_until`, which the second
-- one is keyed on, so every claim wrote a new entry into each index of the table (the primary key, the
-- six-column unique key, the owner's log and the lease index).
--
-- Now the only index of the queue is on `owed` rows (pending or being sent), which a claim leaves as they
-- are: a claim changes no indexed column. The outcome takes the row out of that index and writes its new
-- entries once. Expired leases are found through the same index (see `deliveries::release_expired_leases`).
ALTER TABLE deliveries ADD COLUMN owed boolean GENERATED ALWAYS AS (status IN ('pending', 'sending')) STORED;
CREATE INDEX deliveries_owed ON deliveries (next_attempt_at) WHERE owed;
DROP INDEX deliveries_pending;
DROP INDEX deliveries_leased;
-- Room on each page for the claim's new version of the rows inserted there (a burst inserts full pages, and
-- a claim statement's old versions are not yet dead while it writes): about half the page.
ALTER TABLE deliveries SET (fillfactor = 50);
