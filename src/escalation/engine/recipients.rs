//! Loads, for a batch of users, the channel subscriptions and accepted trusted contacts that plans
//! resolve to.

use std::collections::HashMap;

use diesel::sql_types::{Array, Bool, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ChannelKind;
use reminder_core::ids::{ReminderId, UserId};
use reminder_core::plan::{Contact, Subscription};
use uuid::Uuid;

use crate::db::Prepare;

#[derive(diesel::QueryableByName)]
struct SubscriptionRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Text)]
    agent_type: String,
}

#[derive(diesel::QueryableByName)]
struct ContactRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Bool)]
    email_ok: bool,
    #[diesel(sql_type = Bool)]
    sms_ok: bool,
}

/// Everyone the users in a batch can be escalated to.
#[derive(Default)]
pub struct Recipients {
    pub subscriptions: HashMap<UserId, Vec<Subscription>>,
    pub contacts: HashMap<UserId, Vec<Contact>>,
}

/// Both queries are pipelined on `conn` (and behind whatever else the caller has in flight on it).
pub async fn load(mut conn: &AsyncPgConnection, users: &[UserId]) -> anyhow::Result<Recipients> {
    let mut out = Recipients::default();
    if users.is_empty() {
        return Ok(out);
    }
    // An unverified channel (its code not yet entered) is skipped like a paused one.
    let subscriptions = diesel::sql_query(
        "SELECT id, user_id, agent_type FROM user_agent_subscriptions
         WHERE user_id = ANY($1) AND enabled AND paused_reason IS NULL AND verified_at IS NOT NULL",
    )
    .bind::<Array<SqlUuid>, _>(users)
    .prepared()
    .load::<SubscriptionRow>(&mut conn);
    // A number that replied STOP is never texted again, whoever owns the contact.
    let contacts = diesel::sql_query(
        "SELECT c.id, c.user_id, c.email IS NOT NULL AS email_ok,
                (c.phone IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sms_opt_outs o WHERE o.phone = c.phone)) AS sms_ok
         FROM trusted_contacts c
         WHERE c.user_id = ANY($1) AND c.consent_status = 'accepted' AND c.paused_reason IS NULL",
    )
    .bind::<Array<SqlUuid>, _>(users)
    .prepared()
    .load::<ContactRow>(&mut conn);
    let (subscriptions, contacts) = futures_util::try_join!(subscriptions, contacts)?;
    for row in subscriptions {
        if let Some(kind) = ChannelKind::of_agent_type(&row.agent_type) {
            out.subscriptions.entry(row.user_id).or_default().push(Subscription { id: row.id, kind });
        }
    }
    for row in contacts {
        let channels: Vec<ChannelKind> = [(row.email_ok, ChannelKind::Email), (row.sms_ok, ChannelKind::Sms)]
            .into_iter()
            .filter_map(|(ok, kind)| ok.then_some(kind))
            .collect();
        if !channels.is_empty() {
            out.contacts.entry(row.user_id).or_default().push(Contact { id: row.id, channels });
        }
    }
    Ok(out)
}

#[derive(diesel::QueryableByName)]
struct ShareRow {
    #[diesel(sql_type = SqlUuid)]
    reminder_id: ReminderId,
    #[diesel(sql_type = SqlUuid)]
    member_id: Uuid,
}

/// The family members each of `reminders` is shared with, while they are still in the owner's family. Only
/// asked for reminders whose tiers name members, so the common batch pays nothing for it.
pub async fn shared_members(
    mut conn: &AsyncPgConnection,
    reminders: &[ReminderId],
) -> anyhow::Result<HashMap<ReminderId, Vec<Uuid>>> {
    let mut out: HashMap<ReminderId, Vec<Uuid>> = HashMap::new();
    if reminders.is_empty() {
        return Ok(out);
    }
    let rows = diesel::sql_query(
        "SELECT s.reminder_id, s.member_id FROM reminder_shares s
         JOIN family_members f ON f.owner_id = s.owner_id AND f.member_id = s.member_id AND f.status = 'active'
         JOIN users u ON u.id = s.member_id AND u.deleted_at IS NULL
         WHERE s.reminder_id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(reminders)
    .load::<ShareRow>(&mut conn)
    .await?;
    for row in rows {
        out.entry(row.reminder_id).or_default().push(row.member_id);
    }
    Ok(out)
}
