DROP FUNCTION claimable_deliveries(timestamptz, bigint);
