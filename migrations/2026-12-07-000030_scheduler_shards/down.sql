DROP TABLE scheduler_candidates;
DROP FUNCTION reminder_shard(uuid, integer);
DELETE FROM scheduler_leases WHERE name <> 'scheduler';
