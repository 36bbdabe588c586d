-- Operator knobs an admin changes at run time (issue 22 item 8). A knob without a row takes the
-- environment's value; every change is logged in admin_actions by the admin service.
CREATE TABLE system_settings (
    key text PRIMARY KEY,
    value bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
