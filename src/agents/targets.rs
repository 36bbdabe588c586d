//! Resolves claimed deliveries to concrete recipients (address, phone, URL and decrypted secret) in two
//! batched queries, just before sending, so a target changed since the delivery was created is honoured.

use std::collections::HashMap;

use chrono::NaiveTime;
use diesel::QueryableByName;
use diesel::sql_types::{Array, Bool, Jsonb, Nullable, Text, Time, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::SubscriptionId;
use reminder_core::quiet_hours::QuietWindow;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use uuid::Uuid;

use super::push::{BrowserSubscription, SecretSubscription};
use super::subscriptions::sealed_settings;
use super::third_party::{AgentSettings, AgentTarget};
use super::{ChannelKind, Recipient};
use crate::db::Prepare;

#[derive(QueryableByName)]
struct SubscriptionRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Jsonb)]
    config: serde_json::Value,
    #[diesel(sql_type = Nullable<diesel::sql_types::Bytea>)]
    secret_ciphertext: Option<Vec<u8>>,
    /// The rotated-out secret while its overlap lasts (NULL once expired).
    #[diesel(sql_type = Nullable<diesel::sql_types::Bytea>)]
    previous_secret: Option<Vec<u8>>,
    #[diesel(sql_type = Bool)]
    enabled: bool,
    /// Set while the owner's tier no longer covers this channel.
    #[diesel(sql_type = Nullable<Text>)]
    paused_reason: Option<String>,
    /// The subscription's phone number replied STOP.
    #[diesel(sql_type = Bool)]
    opted_out: bool,
    #[diesel(embed)]
    quiet: QuietColumns,
    /// Its address or number was changed and the new one's code has not been entered.
    #[diesel(sql_type = Bool)]
    verified: bool,
}

/// The recipient's zone and quiet hours: the owner's for a channel subscription; a trusted contact's own,
/// each part defaulting to the owner's.
#[derive(QueryableByName)]
struct QuietColumns {
    #[diesel(sql_type = Text)]
    quiet_zone: String,
    #[diesel(sql_type = Nullable<Time>)]
    quiet_start: Option<NaiveTime>,
    #[diesel(sql_type = Nullable<Time>)]
    quiet_end: Option<NaiveTime>,
}

impl QuietColumns {
    fn window(&self) -> Option<QuietWindow> {
        QuietWindow::from_columns(&self.quiet_zone, self.quiet_start, self.quiet_end)
    }
}

#[derive(QueryableByName)]
struct ContactRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    phone: Option<String>,
    #[diesel(sql_type = Bool)]
    reachable: bool,
    /// Set while the owner's tier no longer covers this contact.
    #[diesel(sql_type = Nullable<Text>)]
    paused_reason: Option<String>,
    #[diesel(embed)]
    quiet: QuietColumns,
}

/// A family member: reached at their account's address, in their own zone and quiet hours.
#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Bool)]
    in_family: bool,
    #[diesel(embed)]
    quiet: QuietColumns,
}

/// A marketplace type behind a subscription.
#[derive(QueryableByName)]
struct AgentRow {
    #[diesel(sql_type = SqlUuid)]
    subscription_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    agent_type: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Array<Text>)]
    capabilities: Vec<String>,
    #[diesel(sql_type = Nullable<Text>)]
    callback_url: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    secret_ciphertext: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    timeout_ms: i32,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    max_payload_bytes: i32,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    requests_per_minute: i32,
    #[diesel(sql_type = Array<Text>)]
    allowed_hosts: Vec<String>,
}

/// Recipients keyed by (target kind, target id, channel), and the quiet hours of those that have them,
/// keyed by target id.
#[derive(Default)]
pub struct Resolved {
    pub recipients: HashMap<(String, Uuid, ChannelKind), Recipient>,
    pub quiet: HashMap<Uuid, QuietWindow>,
}

pub async fn resolve(
    conn: &mut AsyncPgConnection,
    key: &SecretBox<[u8; 32]>,
    targets: &[(String, Uuid, ChannelKind)],
) -> anyhow::Result<Resolved> {
    let subscription_ids: Vec<Uuid> = targets.iter().filter(|t| t.0 == "subscription").map(|t| t.1).collect();
    let contact_ids: Vec<Uuid> = targets.iter().filter(|t| t.0 == "contact").map(|t| t.1).collect();
    let subscriptions: HashMap<Uuid, SubscriptionRow> = if subscription_ids.is_empty() {
        HashMap::new()
    } else {
        diesel::sql_query(
            "SELECT s.id, s.config, s.secret_ciphertext, s.enabled, s.paused_reason,
                    s.verified_at IS NOT NULL AS verified,
                    EXISTS (SELECT 1 FROM sms_opt_outs o WHERE o.phone = s.config->>'phoneNumber') AS opted_out,
                    CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret_ciphertext END
                        AS previous_secret,
                    u.timezone AS quiet_zone, u.quiet_hours_start AS quiet_start, u.quiet_hours_end AS quiet_end
             FROM user_agent_subscriptions s JOIN users u ON u.id = s.user_id WHERE s.id = ANY($1)",
        )
        .bind::<Array<SqlUuid>, _>(&subscription_ids)
        .prepared()
        .load::<SubscriptionRow>(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect()
    };
    let contacts: HashMap<Uuid, ContactRow> = if contact_ids.is_empty() {
        HashMap::new()
    } else {
        diesel::sql_query(
            "SELECT c.id, c.email, c.phone, c.paused_reason,
                    (c.consent_status = 'accepted'
                     AND NOT EXISTS (SELECT 1 FROM sms_opt_outs o WHERE o.phone = c.phone)) AS reachable,
                    COALESCE(c.timezone, u.timezone) AS quiet_zone,
                    COALESCE(c.quiet_hours_start, u.quiet_hours_start) AS quiet_start,
                    COALESCE(c.quiet_hours_end, u.quiet_hours_end) AS quiet_end
             FROM trusted_contacts c JOIN users u ON u.id = c.user_id WHERE c.id = ANY($1)",
        )
        .bind::<Array<SqlUuid>, _>(&contact_ids)
        .prepared()
        .load::<ContactRow>(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect()
    };
    let member_ids: Vec<Uuid> = targets.iter().filter(|t| t.0 == "member").map(|t| t.1).collect();
    let members: HashMap<Uuid, MemberRow> = if member_ids.is_empty() {
        HashMap::new()
    } else {
        // Still in a family (leaving ends the shares, so this is the send-time check), at their own clock.
        diesel::sql_query(
            "SELECT u.id, u.email, u.timezone AS quiet_zone, u.quiet_hours_start AS quiet_start,
                    u.quiet_hours_end AS quiet_end,
                    EXISTS (SELECT 1 FROM family_members f WHERE f.member_id = u.id AND f.status = 'active')
                        AS in_family
             FROM users u WHERE u.id = ANY($1) AND u.deleted_at IS NULL",
        )
        .bind::<Array<SqlUuid>, _>(&member_ids)
        .load::<MemberRow>(conn)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect()
    };
    let agent_ids: Vec<Uuid> =
        targets.iter().filter(|t| t.0 == "subscription" && t.2 == ChannelKind::Agent).map(|t| t.1).collect();
    let agents: HashMap<Uuid, AgentRow> = if agent_ids.is_empty() {
        HashMap::new()
    } else {
        diesel::sql_query(
            "SELECT s.id AS subscription_id, m.id, m.agent_type, m.status, m.capabilities, m.callback_url,
                    m.secret_ciphertext, m.timeout_ms, m.max_payload_bytes, m.requests_per_minute, m.allowed_hosts
             FROM user_agent_subscriptions s JOIN marketplace_agents m ON m.agent_type = s.agent_type
             WHERE s.id = ANY($1)",
        )
        .bind::<Array<SqlUuid>, _>(&agent_ids)
        .load::<AgentRow>(conn)
        .await?
        .into_iter()
        .map(|row| (row.subscription_id, row))
        .collect()
    };
    let mut out = Resolved::default();
    for (kind, id, channel) in targets {
        let recipient = match kind.as_str() {
            "subscription" => subscription_recipient(subscriptions.get(id), *channel, key, &agents),
            "member" => member_recipient(members.get(id), *channel),
            _ => contact_recipient(contacts.get(id), *channel),
        };
        out.recipients.insert((kind.clone(), *id, *channel), recipient);
    }
    let windows = subscriptions.values().map(|row| (row.id, row.quiet.window()));
    let windows = windows.chain(contacts.values().map(|row| (row.id, row.quiet.window())));
    let windows = windows.chain(members.values().map(|row| (row.id, row.quiet.window())));
    out.quiet.extend(windows.filter_map(|(id, window)| Some((id, window?))));
    Ok(out)
}

fn gone(reason: &str) -> Recipient {
    Recipient::Gone { reason: reason.to_owned() }
}

fn subscription_recipient(
    row: Option<&SubscriptionRow>,
    channel: ChannelKind,
    key: &SecretBox<[u8; 32]>,
    agents: &HashMap<Uuid, AgentRow>,
) -> Recipient {
    let Some(row) = row else { return gone("the channel subscription was deleted") };
    if !row.enabled {
        return gone("the channel subscription is disabled");
    }
    if let Some(reason) = &row.paused_reason {
        return gone(&format!("the channel subscription is paused: {reason}"));
    }
    if !row.verified {
        return gone("the channel's new address or number is not verified yet");
    }
    let text = |field: &str| row.config[field].as_str().map(str::to_owned);
    let open = |sealed: &[u8]| {
        crate::crypto::decrypt(key.expose_secret(), row.id, sealed).ok().and_then(|plain| String::from_utf8(plain).ok())
    };
    match channel {
        ChannelKind::Email => {
            text("address").map_or_else(|| gone("no address"), |address| Recipient::Email { address })
        }
        // A number that replied STOP is never texted, checked at send time so a STOP is honoured at once.
        ChannelKind::Sms if row.opted_out => gone("the number replied STOP; it is texted again after START"),
        ChannelKind::Sms => {
            text("phoneNumber").map_or_else(|| gone("no phone number"), |phone| Recipient::Sms { phone })
        }
        ChannelKind::Pull => Recipient::Pull { subscription_id: row.id },
        ChannelKind::Agent => agent_recipient(row, agents.get(&row.id), key),
        ChannelKind::Push => {
            let opened = row.secret_ciphertext.as_deref().and_then(&open);
            match opened.and_then(|plain| serde_json::from_str::<BrowserSubscription>(&plain).ok()) {
                Some(subscription) => {
                    Recipient::Push { subscription_id: row.id, subscription: SecretSubscription::new(subscription) }
                }
                None => gone("the push subscription cannot be decrypted with this ENCRYPTION_KEY"),
            }
        }
        ChannelKind::Webhook => {
            let Some(url) = text("url") else { return gone("no URL") };
            let open = |sealed: Option<&[u8]>| sealed.and_then(open).map(SecretString::from);
            match open(row.secret_ciphertext.as_deref()) {
                Some(secret) => Recipient::Webhook {
                    subscription_id: row.id,
                    url,
                    secret,
                    previous_secret: open(row.previous_secret.as_deref()),
                },
                None => gone("the signing secret cannot be decrypted with this ENCRYPTION_KEY"),
            }
        }
    }
}

/// A marketplace subscriber, while its type is approved.
fn agent_recipient(row: &SubscriptionRow, agent: Option<&AgentRow>, key: &SecretBox<[u8; 32]>) -> Recipient {
    let Some(agent) = agent else { return gone("the agent type no longer exists") };
    if agent.status != "approved" {
        return gone(&format!("the agent type {} is {}", agent.agent_type, agent.status));
    }
    let secret = crate::crypto::decrypt(key.expose_secret(), agent.id, &agent.secret_ciphertext)
        .ok()
        .and_then(|plain| String::from_utf8(plain).ok());
    let Some(secret) = secret else {
        return gone("the agent type's secret cannot be decrypted with this ENCRYPTION_KEY");
    };
    let sealed = sealed_settings::open(key.expose_secret(), SubscriptionId(row.id), row.secret_ciphertext.as_deref());
    let Ok(sealed) = sealed else {
        return gone("the subscription's write-only settings cannot be decrypted with this ENCRYPTION_KEY");
    };
    let config = AgentSettings(sealed_settings::whole(&row.config, sealed));
    Recipient::Agent {
        subscription_id: row.id,
        agent: AgentTarget {
            id: agent.id,
            agent_type: agent.agent_type.clone(),
            receive: agent.capabilities.iter().any(|c| c == "receive"),
            callback_url: agent.callback_url.clone(),
            secret: SecretString::from(secret),
            timeout: std::time::Duration::from_millis(u64::try_from(agent.timeout_ms).unwrap_or(5_000)),
            max_payload_bytes: usize::try_from(agent.max_payload_bytes).unwrap_or(16_384),
            requests_per_minute: u32::try_from(agent.requests_per_minute).unwrap_or(1),
            allowed_hosts: agent.allowed_hosts.clone(),
        },
        config,
    }
}

fn contact_recipient(row: Option<&ContactRow>, channel: ChannelKind) -> Recipient {
    let Some(row) = row else { return gone("the trusted contact was deleted") };
    if !row.reachable {
        return gone("the trusted contact opted out");
    }
    if let Some(reason) = &row.paused_reason {
        return gone(&format!("the trusted contact is paused: {reason}"));
    }
    match (channel, &row.email, &row.phone) {
        (ChannelKind::Email, Some(address), _) => Recipient::Email { address: address.clone() },
        (ChannelKind::Sms, _, Some(phone)) => Recipient::Sms { phone: phone.clone() },
        _ => gone("the trusted contact has no address for this channel"),
    }
}

fn member_recipient(row: Option<&MemberRow>, channel: ChannelKind) -> Recipient {
    let Some(row) = row else { return gone("the family member's account was deleted") };
    if !row.in_family {
        return gone("the family member left the family");
    }
    match channel {
        ChannelKind::Email => Recipient::Email { address: row.email.clone() },
        _ => gone("a family member is reached by email only"),
    }
}
