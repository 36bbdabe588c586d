//! Subscription state changes (tier, override, delivery controls) and the billing routes' logic. Admin
//! routes change subscriptions through the same functions, so a change always applies its consequences
//! (reminders over a new limit pause, the owner is told). Pausing reminders also ends their open episodes,
//! which is escalation's (above billing): a change of tier applies its limits through
//! `crate::stopping::apply_tier_limits`, passed in as [`ApplyTierLimits`] where billing needs it.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::BoxFuture;
use reminder_core::ids::UserId;
use reminder_core::tiers::{Tier, TierTable};
use uuid::Uuid;

use super::limits::Limit;
use super::model::{
    BillingSubscriptionView, CheckoutInput, CheckoutView, DeliveryControlsView, DeliveryState, Invoice, Usage,
    UsageView,
};
use super::square::{Square, UndoCancel};
use super::store;
use crate::accounts::users::notice::{Notice, email_owner};
use crate::http::ApiError;
use crate::http::envelope::Pagination;
use crate::http::pagination::Page;
use crate::state::AppState;

/// The `paused_reason` prefix of reminders paused for being over the tier's limit (only these resume
/// when the limit rises again).
const OVER_LIMIT: &str = "over the tier limit";

/// Something over the limit that stopped being used: a reminder, a channel subscription or a trusted contact.
#[derive(Debug, Clone)]
pub struct Paused {
    pub limit: Limit,
    pub id: Uuid,
    /// What the owner calls it: the reminder's title, the channel's name (or type), the contact's name.
    pub label: String,
}

#[derive(diesel::QueryableByName)]
struct PausedRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    label: String,
}

/// A table whose rows count against a limit. Every fragment is a constant of ours, never input.
struct Limited {
    limit: Limit,
    table: &'static str,
    /// Which of the owner's rows hold a slot.
    counted: &'static str,
    /// The owner's name for a row of `t`.
    label: &'static str,
}

/// What a tier limits, in the order the owner is told about it. The counted rows match `limits::check`.
const LIMITED: [Limited; 5] = [
    Limited {
        limit: Limit::Reminders,
        table: "reminders",
        counted: "status IN ('active', 'snoozed')",
        label: "t.title",
    },
    Limited {
        limit: Limit::Channels,
        table: "user_agent_subscriptions",
        counted: "true",
        label: "COALESCE(t.name, t.agent_type)",
    },
    Limited {
        limit: Limit::TrustedContacts,
        table: "trusted_contacts",
        counted: "consent_status IN ('pending', 'accepted')",
        label: "t.name",
    },
    Limited { limit: Limit::Calendars, table: "calendars", counted: "true", label: "t.name" },
    Limited {
        limit: Limit::MailboxWatchers,
        table: "watchers",
        counted: "kind = 'imap'",
        label: "t.imap_folder || ' on ' || t.imap_host",
    },
];

/// Runs `write`, then applies `owner`'s limit of `freed` again, in one transaction: a write that frees a
/// slot (a deleted channel, contact, calendar or mailbox watcher, a declined invitation) lets the oldest
/// item paused for that limit work again, and the two commit together or not at all. Only the freed limit:
/// the others did not change, and the reminders' limit is not one a deletion here frees (pausing reminders
/// ends their episodes, which is `crate::stopping`'s to compose).
pub async fn freeing_a_slot<T: Send>(
    state: &AppState,
    owner: UserId,
    freed: Freed,
    write: impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> BoxFuture<'c, Result<T, ApiError>> + Send,
) -> Result<T, ApiError> {
    let mut conn = state.db.get().await?;
    let tiers = &state.config.tier_limits;
    let limit = match freed {
        Freed::Channel => Limit::Channels,
        Freed::TrustedContact => Limit::TrustedContacts,
        Freed::Calendar => Limit::Calendars,
        Freed::MailboxWatcher => Limit::MailboxWatchers,
    };
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let written = write(conn).await?;
        apply_limits(conn, tiers, owner, &[limit]).await?;
        Ok(written)
    })
    .await
}

/// The slot a [`freeing_a_slot`] write frees.
#[derive(Clone, Copy, Debug)]
pub enum Freed {
    Channel,
    TrustedContact,
    Calendar,
    MailboxWatcher,
}

/// Deletes one of the owner's items with `delete` (which answers how many rows went) and lets the oldest
/// item paused for the `freed` limit work again, in one transaction ([`freeing_a_slot`]); `missing()` when
/// there was nothing of theirs to delete.
pub async fn delete_freeing_a_slot(
    state: &AppState,
    owner: UserId,
    freed: Freed,
    missing: fn() -> ApiError,
    delete: impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> BoxFuture<'c, QueryResult<usize>> + Send + 'static,
) -> Result<(), ApiError> {
    freeing_a_slot(state, owner, freed, |conn| {
        Box::pin(async move {
            match delete(conn).await? {
                0 => Err(missing()),
                _ => Ok(()),
            }
        })
    })
    .await
}

/// How a change of tier applies the new limits inside its transaction: `crate::stopping::apply_tier_limits`,
/// which also ends the open episodes of the reminders it pauses. Billing sits below escalation and cannot
/// name it, so the caller above passes it in.
pub type ApplyTierLimits =
    for<'c> fn(&'c mut AsyncPgConnection, &'c TierTable, UserId) -> BoxFuture<'c, QueryResult<Vec<Paused>>>;

/// For each of `limits` in the owner's tier, pauses the newest counted rows beyond it and resumes those
/// paused for the limit that fit again (oldest first). Nothing is deleted. Returns what this call paused.
/// Reminders it pauses keep their open episode: a caller that applies [`Limit::Reminders`] ends those in the
/// same transaction (`crate::stopping::apply_tier_limits`: "stop escalating" means now).
pub async fn apply_limits(
    conn: &mut AsyncPgConnection,
    tiers: &TierTable,
    user: UserId,
    limits: &[Limit],
) -> QueryResult<Vec<Paused>> {
    let tier = store::lock(conn, user).await?.effective_tier();
    let mut paused = Vec::new();
    for limited in LIMITED.iter().filter(|limited| limits.contains(&limited.limit)) {
        let allowed = limited.limit.of(tiers.get(tier)).map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let reason = format!("{OVER_LIMIT}: the {} tier allows {allowed} {}", tier.as_str(), limited.limit.noun());
        let ranked = format!(
            "WITH ranked AS (
                SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM {table}
                WHERE user_id = $1 AND {counted})",
            table = limited.table,
            counted = limited.counted,
        );
        diesel::sql_query(format!(
            "{ranked} UPDATE {table} t SET paused_reason = NULL FROM ranked
             WHERE t.id = ranked.id AND ranked.n <= $2 AND t.paused_reason LIKE $3 || '%'",
            table = limited.table,
        ))
        .bind::<SqlUuid, _>(user)
        .bind::<BigInt, _>(allowed)
        .bind::<Text, _>(OVER_LIMIT)
        .execute(conn)
        .await?;
        let rows: Vec<PausedRow> = diesel::sql_query(format!(
            "{ranked} UPDATE {table} t SET paused_reason = $3 FROM ranked
             WHERE t.id = ranked.id AND ranked.n > $2 AND t.paused_reason IS NULL
             RETURNING t.id, {label} AS label",
            table = limited.table,
            label = limited.label,
        ))
        .bind::<SqlUuid, _>(user)
        .bind::<BigInt, _>(allowed)
        .bind::<Text, _>(reason)
        .load(conn)
        .await?;
        paused.extend(rows.into_iter().map(|row| Paused { limit: limited.limit, id: row.id, label: row.label }));
    }
    Ok(paused)
}

/// Every limit a tier sets, for a change of tier.
pub const ALL_LIMITS: [Limit; 5] =
    [Limit::Reminders, Limit::Channels, Limit::TrustedContacts, Limit::Calendars, Limit::MailboxWatchers];

/// Tells the owner what stopped being used, by kind.
pub async fn notify_paused(state: &AppState, user: UserId, paused: &[Paused]) {
    if paused.is_empty() {
        return;
    }
    let mut sections = Vec::new();
    for limited in &LIMITED {
        let labels: Vec<String> =
            paused.iter().filter(|p| p.limit == limited.limit).map(|p| format!("- {}", p.label)).collect();
        if labels.is_empty() {
            continue;
        }
        let what = match limited.limit {
            Limit::Reminders => "These reminders, the newest, are kept but no longer escalate",
            Limit::Channels => "These channels, the newest, are kept but no longer notify you",
            Limit::TrustedContacts => "These trusted contacts, the newest, are kept but no longer asked for help",
            Limit::Calendars => "These calendars, the newest, are kept but no longer read, and their rules rest",
            Limit::MailboxWatchers => "These mailbox watchers, the newest, are kept but their mail is no longer read",
        };
        sections.push(format!("{what}:\n{}", labels.join("\n")));
    }
    let notice = Notice {
        subject: "Some reminders, channels, contacts, calendars or mailboxes were paused".to_owned(),
        text: format!(
            "Your plan now allows fewer of them. Nothing was deleted; each resumes as soon as it fits again \
             (upgrade, or archive or remove others).\n\n{}",
            sections.join("\n\n")
        ),
    };
    if let Err(err) = email_owner(state, user, notice).await {
        tracing::error!(user.id = %user, error = format!("{err:#}"), "could not send the paused-items notice");
    }
}

/// Sets (or clears, with `None`) the admin tier override inside the caller's transaction; 404 for an unknown
/// user. The new limits apply through `crate::stopping::apply_tier_override`, which calls this.
pub async fn set_override(conn: &mut AsyncPgConnection, user: UserId, tier: Option<Tier>) -> Result<(), ApiError> {
    if !store::user_exists(conn, user).await? {
        return Err(ApiError::not_found("User"));
    }
    store::lock(conn, user).await?;
    store::set_tier_override(conn, user, tier).await?;
    Ok(())
}

/// Sets the account's delivery controls. `suspended_until` only applies to `UsageSuspended` (the
/// suspension lifts itself then; `None` = until lifted by hand). 404 for an unknown user.
pub async fn set_delivery_status(
    conn: &mut AsyncPgConnection,
    user: UserId,
    delivery: DeliveryState,
    reason: Option<&str>,
    suspended_until: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    if !store::user_exists(conn, user).await? {
        return Err(ApiError::not_found("User"));
    }
    store::lock(conn, user).await?;
    let until = if delivery == DeliveryState::UsageSuspended { suspended_until } else { None };
    let reason = if delivery == DeliveryState::Active { None } else { reason };
    store::set_delivery_state(conn, user, delivery.as_str(), reason, until).await?;
    Ok(())
}

/// Usage suspensions whose end has come lift themselves (the engine already treats them as lifted).
pub async fn lift_expired_suspensions(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "UPDATE subscriptions SET delivery_state = 'ACTIVE', delivery_state_reason = NULL, usage_suspended_until = NULL
         WHERE delivery_state = 'USAGE_SUSPENDED' AND usage_suspended_until <= $1",
    )
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}

fn usage(used: i64, limit: Option<u64>) -> Usage {
    Usage { used, limit }
}

/// `GET /v1/billing/subscription`.
pub async fn summary(state: &AppState, user: UserId) -> Result<BillingSubscriptionView, ApiError> {
    let mut conn = state.db.get().await?;
    let now = state.clock.now();
    let row = match store::find(&mut conn, user).await? {
        Some(row) => row,
        None => conn.transaction::<_, ApiError, _>(async move |conn| Ok(store::lock(conn, user).await?)).await?,
    };
    let tier = row.effective_tier();
    let limits = state.config.tier_limits.get(tier).clone();
    let usage = UsageView {
        reminders: usage(store::count_reminders(&mut conn, user).await?, Limit::Reminders.of(&limits)),
        channels: usage(store::count_channels(&mut conn, user).await?, Limit::Channels.of(&limits)),
        trusted_contacts: usage(store::count_contacts(&mut conn, user).await?, Limit::TrustedContacts.of(&limits)),
        sms_this_month: usage(store::sms_used(&mut conn, user, now).await?, Some(u64::from(limits.sms_per_month))),
    };
    let mut delivery = DeliveryState::parse(&row.delivery_state).unwrap_or(DeliveryState::Active);
    let mut until = row.usage_suspended_until;
    let mut reason = row.delivery_state_reason.clone();
    if delivery == DeliveryState::UsageSuspended && until.is_some_and(|u| u <= now) {
        (delivery, until, reason) = (DeliveryState::Active, None, None);
    }
    Ok(BillingSubscriptionView {
        tier,
        status: row.status,
        current_period_end: row.current_period_end,
        cancel_at_period_end: row.cancel_at_period_end,
        limits,
        usage,
        delivery: DeliveryControlsView { state: delivery, reason, usage_suspended_until: until },
    })
}

/// `POST /v1/billing/checkout`: a Square payment link for the tier's plan.
pub async fn checkout(state: &AppState, user: UserId, input: CheckoutInput) -> Result<CheckoutView, ApiError> {
    let tier = match Tier::parse(&input.tier) {
        Some(tier) if tier != Tier::Free => tier,
        _ => return Err(ApiError::field("tier", "must be PERSONAL, PRO or FAMILY")),
    };
    let square = Square::new(&state.config)?;
    let Some(plan) = Square::plan_of(&state.config, tier) else {
        return Err(ApiError::unprocessable(format!("The {} tier cannot be bought on this server.", tier.as_str())));
    };
    let mut conn = state.db.get().await?;
    let owner =
        crate::accounts::users::store::find_live(&mut conn, user).await?.ok_or_else(|| ApiError::not_found("User"))?;
    drop(conn);
    let price = state.config.tier_limits.get(tier).price_cents;
    let link = square
        .payment_link(&Uuid::new_v4().to_string(), tier, plan, price, &owner.email)
        .await
        .map_err(|err| provider_failed("payment link", err))?;
    // The order id is what ties Square's payment, and through its buyer the subscription, to this account.
    let Some(order_id) = link.order_id.as_deref() else {
        tracing::error!("Square made a payment link without an order id");
        return Err(ApiError::new(
            crate::http::ErrorCode::ServiceUnavailable,
            "The payment provider is unavailable; try again.",
        ));
    };
    let mut conn = state.db.get().await?;
    super::checkouts::record(&mut conn, user, order_id, link.id.as_deref(), tier).await?;
    Ok(CheckoutView { checkout_url: link.url })
}

/// `POST /v1/billing/cancel`: Square stops billing at the end of the paid period; the tier stays until
/// Square reports the cancellation.
pub async fn cancel(state: &AppState, user: UserId) -> Result<BillingSubscriptionView, ApiError> {
    let mut conn = state.db.get().await?;
    let row = store::find(&mut conn, user).await?;
    drop(conn);
    let Some(square_id) = row.and_then(|r| r.square_subscription_id) else {
        return Err(ApiError::unprocessable("There is no paid subscription to cancel."));
    };
    let square = Square::new(&state.config)?;
    square.cancel(&square_id).await.map_err(|err| provider_failed("cancel", err))?;
    set_cancel_at_period_end(state, user, true).await
}

/// `POST /v1/billing/reactivate`: undoes [`cancel`] while the paid period lasts, so the subscription renews.
pub async fn reactivate(state: &AppState, user: UserId) -> Result<BillingSubscriptionView, ApiError> {
    let mut conn = state.db.get().await?;
    let row = store::find(&mut conn, user).await?;
    drop(conn);
    let ended = || ApiError::unprocessable("The paid period has ended; subscribe again with a new checkout.");
    let (square_id, period_end) = match row {
        Some(row) if row.cancel_at_period_end => (row.square_subscription_id, row.current_period_end),
        _ => return Err(ApiError::unprocessable("There is no cancellation to undo.")),
    };
    let Some(square_id) = square_id else { return Err(ended()) };
    if period_end.is_some_and(|end| end <= state.clock.now()) {
        return Err(ended());
    }
    let square = Square::new(&state.config)?;
    match square.undo_cancel(&square_id).await.map_err(|err| provider_failed("reactivate", err))? {
        UndoCancel::Ended => Err(ended()),
        UndoCancel::Undone | UndoCancel::NothingScheduled => set_cancel_at_period_end(state, user, false).await,
    }
}

/// Records what Square now has scheduled and answers with the summary.
async fn set_cancel_at_period_end(
    state: &AppState,
    user: UserId,
    cancel: bool,
) -> Result<BillingSubscriptionView, ApiError> {
    let mut conn = state.db.get().await?;
    let changes = store::SquareChanges { cancel_at_period_end: Some(cancel), ..Default::default() };
    store::apply_square(&mut conn, user, &changes).await?;
    drop(conn);
    summary(state, user).await
}

/// 503 for a Square call that failed; the cause goes to the log.
fn provider_failed(what: &str, err: anyhow::Error) -> ApiError {
    tracing::error!(error = format!("{err:#}"), "Square {what} failed");
    ApiError::new(crate::http::ErrorCode::ServiceUnavailable, "The payment provider is unavailable; try again.")
}

/// `GET /v1/billing/invoices`.
pub async fn invoices(state: &AppState, user: UserId, page: Page) -> Result<(Vec<Invoice>, Pagination), ApiError> {
    let mut conn = state.db.get().await?;
    let (rows, total) = store::invoices(&mut conn, user, page).await?;
    Ok((rows, page.pagination(total)))
}
