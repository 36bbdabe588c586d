-- Shared reminders (issue 22 item 5): an owner on a tier with family places invites people by email; who
-- accepts is a member and may be shared reminders. One row per invitation, kept as the membership.
CREATE TABLE family_members (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address invited (lowercase); the accepting account must have it.
    email text NOT NULL,
    -- Set when accepted.
    member_id uuid REFERENCES users (id) ON DELETE CASCADE,
    status text NOT NULL CHECK (status IN ('invited', 'active')),
    -- SHA-256 of the mailed invitation's token, until it is used.
    token_hash bytea UNIQUE,
    invited_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    joined_at timestamptz,
    CHECK (status = 'invited' OR member_id IS NOT NULL),
    CHECK (owner_id <> member_id)
);
-- One invitation or membership per address in a family, and one family per person.
CREATE UNIQUE INDEX family_members_owner_email ON family_members (owner_id, email);
CREATE UNIQUE INDEX family_members_member ON family_members (member_id) WHERE status = 'active';

-- Which member sees which reminder. The owner keeps the reminder (and its quota); a share ends with the
-- membership (the application deletes both in one transaction) or with the reminder.
CREATE TABLE reminder_shares (
    reminder_id uuid NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
    member_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reminder_id, member_id)
);
CREATE INDEX reminder_shares_member ON reminder_shares (member_id);
CREATE INDEX reminder_shares_owner ON reminder_shares (owner_id);

-- A family member named in a tier is reached at their account's address.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_target_kind_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_target_kind_check
    CHECK (target_kind IN ('subscription', 'contact', 'member', 'test'));
