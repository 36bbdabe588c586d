ALTER TABLE trusted_contacts DROP COLUMN invitation_texted_at;
