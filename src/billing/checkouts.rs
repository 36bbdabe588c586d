//! Which account a Square subscription belongs to. Each checkout we create is stored under the order Square
//! made for its payment link; the payment for that order names the buyer's Square customer; the subscription
//! Square starts afterwards names the same customer. A subscription is given only along that chain, never
//! by email address: anyone can register an account here under somebody else's address, and anyone can type
//! somebody else's address at Square's checkout.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use reminder_core::tiers::Tier;

use crate::db::schema::square_checkouts;

/// Records a checkout we just created for `user`.
pub async fn record(
    conn: &mut AsyncPgConnection,
    user: UserId,
    order_id: &str,
    payment_link_id: Option<&str>,
    tier: Tier,
) -> QueryResult<usize> {
    diesel::insert_into(square_checkouts::table)
        .values((
            square_checkouts::order_id.eq(order_id),
            square_checkouts::user_id.eq(user),
            square_checkouts::payment_link_id.eq(payment_link_id),
            square_checkouts::tier.eq(tier.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
}

/// A completed payment for one of our checkout orders: remembers who paid. Returns whether the order was
/// ours and newly paid (a payment for an order we never made, or a repeat, links nothing).
pub async fn paid(
    conn: &mut AsyncPgConnection,
    order_id: &str,
    customer_id: &str,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let updated = diesel::update(
        square_checkouts::table
            .filter(square_checkouts::order_id.eq(order_id))
            .filter(square_checkouts::customer_id.is_null()),
    )
    .set((square_checkouts::customer_id.eq(customer_id), square_checkouts::paid_at.eq(at)))
    .execute(conn)
    .await?;
    Ok(updated > 0)
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: UserId,
}

/// Gives a new Square subscription to the oldest paid checkout of its customer that has none yet (and was
/// for its tier, when known); returns that checkout's account. `None` while no such payment has arrived.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    subscription_id: &str,
    customer_id: &str,
    tier: Option<Tier>,
) -> QueryResult<Option<UserId>> {
    let claimed: Option<Claimed> = diesel::sql_query(
        "UPDATE square_checkouts SET subscription_id = $1
         WHERE order_id = (
             SELECT order_id FROM square_checkouts
             WHERE customer_id = $2 AND subscription_id IS NULL AND paid_at IS NOT NULL
               AND (tier IS NULL OR $3 IS NULL OR tier = $3)
             ORDER BY paid_at, created_at LIMIT 1 FOR UPDATE)
         RETURNING user_id",
    )
    .bind::<Text, _>(subscription_id)
    .bind::<Text, _>(customer_id)
    .bind::<Nullable<Text>, _>(tier.map(Tier::as_str))
    .get_result(conn)
    .await
    .optional()?;
    Ok(claimed.map(|c| c.user_id))
}

#[derive(QueryableByName)]
struct Waiting {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: serde_json::Value,
}

/// Subscription events of this customer that arrived before its payment and matched no account, oldest
/// first: Square does not promise to send the payment first.
pub async fn waiting_events(conn: &mut AsyncPgConnection, customer_id: &str) -> QueryResult<Vec<serde_json::Value>> {
    let rows: Vec<Waiting> = diesel::sql_query(
        "SELECT e.payload FROM processed_webhook_events e
         WHERE e.provider = 'square' AND e.event_type IN ('subscription.created', 'subscription.updated')
           AND e.payload #>> '{data,object,subscription,customer_id}' = $1
           AND NOT EXISTS (SELECT 1 FROM subscriptions s
                           WHERE s.square_subscription_id = e.payload #>> '{data,object,subscription,id}')
         ORDER BY e.processed_at",
    )
    .bind::<Text, _>(customer_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|w| w.payload).collect())
}
