ALTER TABLE deliveries DROP CONSTRAINT deliveries_target_kind_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_target_kind_check
    CHECK (target_kind IN ('subscription', 'contact', 'test'));
DROP TABLE reminder_shares;
DROP TABLE family_members;
