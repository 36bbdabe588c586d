-- Subscriptions with delivery controls, usage windows and payments.

CREATE TABLE subscriptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    tier text NOT NULL DEFAULT 'FREE' CHECK (tier IN ('FREE', 'PERSONAL', 'PRO', 'FAMILY')),
    status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'PAST_DUE', 'CANCELED', 'PENDING')),
    tier_override text CHECK (tier_override IN ('FREE', 'PERSONAL', 'PRO', 'FAMILY')),
    square_customer_id text,
    square_subscription_id text UNIQUE,
    square_order_id text,
    current_period_end timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    delivery_state text NOT NULL DEFAULT 'ACTIVE'
        CHECK (delivery_state IN ('ACTIVE', 'DELIVERY_DISABLED', 'USAGE_SUSPENDED')),
    delivery_state_reason text,
    usage_suspended_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER subscriptions_updated_at BEFORE UPDATE ON subscriptions FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Deliveries counted per suspension window while an account is usage-suspended.
CREATE TABLE delivery_window_usage (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL,
    deliveries integer NOT NULL DEFAULT 0 CHECK (deliveries >= 0),
    PRIMARY KEY (user_id, window_start)
);

-- Metered usage per calendar month (SMS budget, API calls).
CREATE TABLE usage_windows (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric text NOT NULL CHECK (metric IN ('sms', 'email', 'webhook', 'api_requests')),
    period_start date NOT NULL,
    used integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (user_id, metric, period_start)
);

CREATE TABLE payment_history (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    square_invoice_id text,
    square_payment_id text UNIQUE,
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    currency text NOT NULL DEFAULT 'USD',
    status text NOT NULL CHECK (status IN ('PAID', 'FAILED', 'REFUNDED', 'PENDING')),
    description text,
    paid_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_history_user ON payment_history (user_id, created_at DESC);
