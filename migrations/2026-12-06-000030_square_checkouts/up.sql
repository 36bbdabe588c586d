-- Square checkouts we created, keyed by the order Square made for each payment link. The payment for that
-- order names the buyer's Square customer, and the subscription Square then starts names the same customer:
-- this chain, not an email address (which anyone can register here unverified, or type at Square's
-- checkout), is what gives a subscription to the account that asked for it.
CREATE TABLE square_checkouts (
    order_id text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    payment_link_id text,
    -- NULL only for checkouts made before this table existed (their tier was not recorded).
    tier text CHECK (tier IN ('PERSONAL', 'PRO', 'FAMILY')),
    customer_id text,
    paid_at timestamptz,
    subscription_id text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Paid checkouts still waiting for their subscription, by buyer.
CREATE INDEX square_checkouts_unclaimed ON square_checkouts (customer_id, paid_at) WHERE subscription_id IS NULL;

INSERT INTO square_checkouts (order_id, user_id)
SELECT square_order_id, user_id FROM subscriptions WHERE square_order_id IS NOT NULL
ON CONFLICT DO NOTHING;
