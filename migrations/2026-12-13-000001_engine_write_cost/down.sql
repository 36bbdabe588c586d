ALTER TABLE reminders RESET (fillfactor);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_escalation_id_tier_loop_index_target_kind_target_key
    UNIQUE (escalation_id, tier, loop_index, target_kind, target_id, channel);
DROP INDEX deliveries_escalation;
