-- When the contact's current invitation was texted to their number. An SMS "YES" accepts only an invitation
-- that actually reached the number it comes from (texted at or after `invited_at`, which a new address
-- resets); an invitation never texted there cannot be accepted by whoever holds that number.
ALTER TABLE trusted_contacts ADD COLUMN invitation_texted_at timestamptz;
