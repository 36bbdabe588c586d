//! Delivery controls. The engine applies them to a batch of new deliveries inside the transaction that
//! inserts them ([`apply`]): a delivery-disabled account gets nothing, and SMS past the monthly budget fall
//! back to email; the owners' states are read in one query per batch. A usage suspension's allowance counts
//! sends, not creations ([`allowance`]): the worker asks for it for the claimed deliveries it is about to send
//! (`escalation::engine::deliveries::within_allowance`), so a delivery deferred, cancelled or created before
//! the suspension is counted only if and when it goes out. Suspended owners' subscription rows are locked
//! there, so the window count is exact under concurrency.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, Date, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ChannelKind;
use reminder_core::delivery::NewDelivery;
use reminder_core::ids::UserId;
use reminder_core::status::DeliveryStatus;
use reminder_core::tiers::{Tier, TierTable};
use uuid::Uuid;

use super::model::DeliveryState;
use super::store::month_start;
use crate::db::Prepare;

/// Why a delivery of a delivery-disabled account was held back (`cancelReason`, API.md), whether at creation or
/// at send time.
pub const DISABLED_REASON: &str = "delivery_disabled";

/// What the engine needs to know about the controls.
#[derive(Clone, Copy, Debug)]
pub struct Settings<'a> {
    pub tiers: &'a TierTable,
    pub allowance_per_window: u32,
    pub window: Duration,
    /// Where the values came from, to read an admin's change over them; `None` for values given by hand.
    pub config: Option<&'a crate::config::Config>,
}

impl<'a> Settings<'a> {
    /// The environment's values, and the config to read the database's over them by ([`Settings::in_force`]).
    pub fn from_config(config: &'a crate::config::Config) -> Self {
        Settings {
            tiers: &config.tier_limits,
            allowance_per_window: config.usage_suspension_allowance_per_window,
            window: Duration::days(i64::from(config.usage_suspension_window_days)),
            config: Some(config),
        }
    }

    /// With the admin's values (`/v1/admin/settings`) over the environment's. Settings built by hand (tests)
    /// carry no config and stay as they are.
    async fn in_force(self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<Settings<'a>> {
        let Some(config) = self.config else { return Ok(self) };
        let knobs = crate::settings::current(conn, config).await?;
        Ok(Settings {
            allowance_per_window: knobs.allowance_per_window(),
            window: knobs.days(crate::settings::Knob::UsageSuspensionWindowDays),
            ..self
        })
    }
}

/// An owner's delivery control as stored.
#[derive(diesel::QueryableByName)]
struct Control {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Text)]
    delivery_state: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    usage_suspended_until: Option<DateTime<Utc>>,
}

#[derive(diesel::QueryableByName)]
struct OwnerState {
    #[diesel(embed)]
    control: Control,
    #[diesel(sql_type = Text)]
    tier: String,
    #[diesel(sql_type = Integer)]
    sms_used: i32,
}

impl Control {
    /// The state in force at `now`: a usage suspension past its end has lifted itself.
    fn state(&self, now: DateTime<Utc>) -> DeliveryState {
        match DeliveryState::parse(&self.delivery_state) {
            Some(DeliveryState::UsageSuspended) if self.usage_suspended_until.is_some_and(|until| until <= now) => {
                DeliveryState::Active
            }
            Some(state) => state,
            None => DeliveryState::Active,
        }
    }
}

/// Applies the creation-time controls to `rows` (the pending ones; rows already cancelled are left alone). A
/// usage suspension is left to send time ([`allowance`]).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    settings: Settings<'_>,
    rows: &mut [NewDelivery],
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let owners: Vec<UserId> = distinct(rows.iter().filter(|r| r.status == DeliveryStatus::Pending).map(|r| r.user_id));
    if owners.is_empty() {
        return Ok(());
    }
    let states: HashMap<UserId, OwnerState> = diesel::sql_query(
        "SELECT s.user_id, s.delivery_state, s.usage_suspended_until, COALESCE(s.tier_override, s.tier) AS tier,
                COALESCE(u.used, 0) AS sms_used
         FROM subscriptions s
         LEFT JOIN usage_windows u ON u.user_id = s.user_id AND u.metric = 'sms' AND u.period_start = $2
         WHERE s.user_id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(&owners)
    .bind::<Date, _>(month_start(now))
    .prepared()
    .load::<OwnerState>(conn)
    .await?
    .into_iter()
    .map(|s| (s.control.user_id, s))
    .collect();
    for row in rows.iter_mut().filter(|r| r.status == DeliveryStatus::Pending) {
        if states.get(&row.user_id).is_some_and(|s| s.control.state(now) == DeliveryState::DeliveryDisabled) {
            cancel(row, DISABLED_REASON.to_owned());
        }
    }
    sms_budget(conn, settings.tiers, &states, rows).await
}

fn distinct(ids: impl Iterator<Item = UserId>) -> Vec<UserId> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(*id)).collect()
}

fn cancel(row: &mut NewDelivery, reason: String) {
    row.status = DeliveryStatus::Cancelled;
    row.cancel_reason = Some(reason);
}

#[derive(diesel::QueryableByName)]
struct Window {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Timestamptz)]
    window_start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    window_end: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    deliveries: i32,
}

/// How many of an owner's sends may go out now; the rest are held back, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub sends: usize,
    /// The cancel reason of the ones held back (`None` when all may go).
    pub held_reason: Option<String>,
}

/// Asks for `wanted` sends per owner, now, and counts the ones granted. Call it inside a transaction: the
/// owners' subscription rows are locked (in id order) and their state read again under the lock, so a
/// suspension lifted or set since the caller looked counts, and two callers granting the last slot of one
/// window are serialised. A usage-suspended owner gets at most what is left of the current window (a window
/// starts with the first send after the previous one ended); a delivery-disabled one gets nothing; anyone
/// else gets everything without a write.
pub async fn allowance(
    conn: &mut AsyncPgConnection,
    settings: Settings<'_>,
    wanted: &[(UserId, usize)],
    now: DateTime<Utc>,
) -> diesel::QueryResult<HashMap<UserId, Allowed>> {
    let owners: Vec<UserId> = distinct(wanted.iter().map(|(user, _)| *user));
    let controls: Vec<Control> = diesel::sql_query(
        "SELECT user_id, delivery_state, usage_suspended_until FROM subscriptions
         WHERE user_id = ANY($1) ORDER BY user_id FOR UPDATE",
    )
    .bind::<Array<SqlUuid>, _>(&owners)
    .prepared()
    .load(conn)
    .await?;
    let state_of =
        |user: &UserId| controls.iter().find(|c| c.user_id == *user).map_or(DeliveryState::Active, |c| c.state(now));
    let mut allowed: HashMap<UserId, Allowed> = HashMap::with_capacity(wanted.len());
    let mut suspended = Vec::new();
    for (user, sends) in wanted {
        match state_of(user) {
            DeliveryState::UsageSuspended => suspended.push((*user, *sends)),
            DeliveryState::DeliveryDisabled => {
                allowed.insert(*user, Allowed { sends: 0, held_reason: Some(DISABLED_REASON.to_owned()) });
            }
            DeliveryState::Active => {
                allowed.insert(*user, Allowed { sends: *sends, held_reason: None });
            }
        }
    }
    if suspended.is_empty() {
        return Ok(allowed);
    }
    // An admin may have changed the allowance or the window since the caller read its configuration.
    let settings = settings.in_force(conn).await?;
    let owners: Vec<UserId> = suspended.iter().map(|(user, _)| *user).collect();
    // The window in force is the owner's one not yet ended, even one that starts a moment after `now`: two
    // workers read their clocks before queueing for the lock, so the one that waited may hold the earlier
    // time. Asking "does a window cover my now?" then opened a second window beside the first (found by the
    // suspension test: four sends in a window of three).
    diesel::sql_query(
        "INSERT INTO delivery_window_usage (user_id, window_start, window_end)
         SELECT o, $2, $3 FROM unnest($1::uuid[]) AS o
         WHERE NOT EXISTS (SELECT 1 FROM delivery_window_usage w WHERE w.user_id = o AND w.window_end > $2)
         ON CONFLICT DO NOTHING",
    )
    .bind::<Array<SqlUuid>, _>(&owners)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now + settings.window)
    .prepared()
    .execute(conn)
    .await?;
    let windows: Vec<Window> = diesel::sql_query(
        "SELECT DISTINCT ON (user_id) user_id, window_start, window_end, deliveries FROM delivery_window_usage
         WHERE user_id = ANY($1) AND window_end > $2 ORDER BY user_id, window_start",
    )
    .bind::<Array<SqlUuid>, _>(&owners)
    .bind::<Timestamptz, _>(now)
    .prepared()
    .load(conn)
    .await?;
    let limit = settings.allowance_per_window;
    let mut granted: Vec<(UserId, DateTime<Utc>, i32)> = Vec::with_capacity(windows.len());
    for (user, sends) in suspended {
        let Some(window) = windows.iter().find(|w| w.user_id == user) else {
            // Not reached: the window was created above under the owner's lock. Hold back rather than guess.
            allowed.insert(user, Allowed { sends: 0, held_reason: Some("usage suspended".to_owned()) });
            continue;
        };
        let left = usize::try_from(i64::from(limit) - i64::from(window.deliveries)).unwrap_or(0);
        let sends_now = sends.min(left);
        let held_reason = (sends_now < sends).then(|| {
            format!(
                "usage suspended: the allowance of {limit} deliveries per window is used; the window resets at {}",
                window.window_end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        });
        allowed.insert(user, Allowed { sends: sends_now, held_reason });
        granted.push((user, window.window_start, i32::try_from(sends_now).unwrap_or(i32::MAX)));
    }
    diesel::sql_query(
        "UPDATE delivery_window_usage w SET deliveries = w.deliveries + v.n
         FROM unnest($1::uuid[], $2::timestamptz[], $3::int[]) AS v(user_id, window_start, n)
         WHERE w.user_id = v.user_id AND w.window_start = v.window_start AND v.n > 0",
    )
    .bind::<Array<SqlUuid>, _>(granted.iter().map(|g| g.0).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(granted.iter().map(|g| g.1).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(granted.iter().map(|g| g.2).collect::<Vec<_>>())
    .prepared()
    .execute(conn)
    .await?;
    Ok(allowed)
}

#[derive(diesel::QueryableByName)]
struct EmailFallback {
    #[diesel(sql_type = SqlUuid)]
    owner: UserId,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = SqlUuid)]
    target: Uuid,
    #[diesel(sql_type = SqlUuid)]
    email_target: Uuid,
}

/// SMS past the owner's monthly budget go by email instead (the user's email channel, or the contact's
/// address), with a note in the delivery log; with no email to fall back to they are recorded cancelled.
async fn sms_budget(
    conn: &mut AsyncPgConnection,
    tiers: &TierTable,
    states: &HashMap<UserId, OwnerState>,
    rows: &mut [NewDelivery],
) -> diesel::QueryResult<()> {
    // An owner without a subscription row is on FREE with nothing used.
    let budget = |user: &UserId| {
        let tier = states.get(user).and_then(|s| Tier::parse(&s.tier)).unwrap_or(Tier::Free);
        tiers.get(tier).sms_per_month
    };
    let mut left: HashMap<UserId, i64> = HashMap::new();
    let mut over = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        if row.status != DeliveryStatus::Pending || row.target.channel != ChannelKind::Sms {
            continue;
        }
        let remaining = left.entry(row.user_id).or_insert_with(|| {
            let used = states.get(&row.user_id).map_or(0, |s| i64::from(s.sms_used));
            i64::from(budget(&row.user_id)) - used
        });
        if *remaining > 0 {
            *remaining -= 1;
        } else {
            over.push(i);
        }
    }
    if over.is_empty() {
        return Ok(());
    }
    let owners: Vec<UserId> = over.iter().map(|&i| rows[i].user_id).collect();
    let kinds: Vec<&str> = over.iter().map(|&i| rows[i].target.kind.as_str()).collect();
    let targets: Vec<Uuid> = over.iter().map(|&i| rows[i].target.id).collect();
    let fallbacks: HashMap<(UserId, String, Uuid), Uuid> = diesel::sql_query(
        "SELECT DISTINCT v.owner, v.kind, v.target,
                CASE WHEN v.kind = 'contact' THEN c.id ELSE e.id END AS email_target
         FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS v(owner, kind, target)
         LEFT JOIN trusted_contacts c ON v.kind = 'contact' AND c.id = v.target AND c.email IS NOT NULL
         LEFT JOIN LATERAL (SELECT s.id FROM user_agent_subscriptions s
                            WHERE s.user_id = v.owner AND s.agent_type = 'email' AND s.enabled AND s.verified_at IS NOT NULL
                            ORDER BY s.created_at, s.id LIMIT 1) e ON v.kind = 'subscription'
         WHERE (CASE WHEN v.kind = 'contact' THEN c.id ELSE e.id END) IS NOT NULL",
    )
    .bind::<Array<SqlUuid>, _>(&owners)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<SqlUuid>, _>(&targets)
    .prepared()
    .load::<EmailFallback>(conn)
    .await?
    .into_iter()
    .map(|f| ((f.owner, f.kind, f.target), f.email_target))
    .collect();
    for i in over {
        let row = &mut rows[i];
        let budget = budget(&row.user_id);
        let key = (row.user_id, row.target.kind.as_str().to_owned(), row.target.id);
        match fallbacks.get(&key) {
            Some(email_target) => {
                row.target.id = *email_target;
                row.target.channel = ChannelKind::Email;
                let note = format!("SMS budget of {budget} this month used; sent by email instead");
                row.deferred_reason = Some(match row.deferred_reason.take() {
                    Some(earlier) => format!("{note}; {earlier}"),
                    None => note,
                });
            }
            None => cancel(row, format!("SMS budget of {budget} this month used and no email to fall back to")),
        }
    }
    Ok(())
}
