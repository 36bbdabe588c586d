//! The pure part of a preview: tiers × loops laid out in time, targets resolved, deferrals applied.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use reminder_core::machine::{Plan, PlannedTier};
use reminder_core::nlp::echo;
use reminder_core::quiet_hours::deferral as defer_past_quiet_hours;
use reminder_core::timezone::parse_zone;
use uuid::Uuid;

use super::{PreviewCost, PreviewDelivery, PreviewStep, SkippedTarget};
use crate::family::store::MemberShare;
use crate::profiles::Tier;
use crate::profiles::store::{ContactBrief, SubscriptionBrief};

pub struct Inputs<'a> {
    pub user_tz: Tz,
    pub quiet: Option<(NaiveTime, NaiveTime)>,
    pub critical: bool,
    pub subscriptions: &'a [SubscriptionBrief],
    pub contacts: &'a [ContactBrief],
    /// The owner's family members, and whether this reminder is shared with each.
    pub members: &'a [MemberShare],
    pub tiers: &'a [Tier],
    pub repeat: u8,
    pub loop_gap_minutes: Option<u32>,
}

pub struct Built {
    pub steps: Vec<PreviewStep>,
    pub skipped: Vec<SkippedTarget>,
    pub cost: PreviewCost,
    pub loop_gap_minutes: u32,
}

/// A resolved recipient of one tier.
struct Recipient {
    kind: &'static str,
    id: Uuid,
    name: Option<String>,
    channel: String,
    tz: Tz,
}

pub fn build(inputs: &Inputs<'_>, occurrence: Option<DateTime<Utc>>) -> Built {
    // The same default as the engine's plan, so the preview's loops match what will happen.
    let planned: Vec<PlannedTier> = inputs
        .tiers
        .iter()
        .map(|t| PlannedTier { tier: t.tier_number, delay_minutes: t.delay_minutes, targets: Vec::new() })
        .collect();
    let loop_gap_minutes = inputs.loop_gap_minutes.unwrap_or_else(|| Plan::default_loop_gap_minutes(&planned));
    let mut skipped = Vec::new();
    let resolved: Vec<Vec<Recipient>> = inputs.tiers.iter().map(|tier| resolve(inputs, tier, &mut skipped)).collect();
    let mut built = Built { steps: Vec::new(), skipped, cost: PreviewCost::default(), loop_gap_minutes };
    let Some(occurrence) = occurrence else { return built };
    let last_delay = inputs.tiers.last().map_or(0, |t| t.delay_minutes);
    let mut loop_start = occurrence;
    for loop_index in 0..=inputs.repeat {
        for (tier, recipients) in inputs.tiers.iter().zip(&resolved) {
            let at = loop_start + minutes(tier.delay_minutes);
            let deliveries = recipients.iter().map(|r| delivery(inputs, r, at, &mut built.cost)).collect();
            built.steps.push(PreviewStep {
                loop_index,
                tier: tier.tier_number,
                delay_minutes: tier.delay_minutes,
                at,
                deliveries,
            });
        }
        loop_start = loop_start + minutes(last_delay) + minutes(loop_gap_minutes);
    }
    built
}

fn minutes(count: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(count))
}

fn delivery(inputs: &Inputs<'_>, recipient: &Recipient, at: DateTime<Utc>, cost: &mut PreviewCost) -> PreviewDelivery {
    // Quiet hours shown are the user's own setting (a contact's or member's are applied at send time), and
    // critical reminders ignore them.
    let deferred_to = match (recipient.kind, inputs.quiet) {
        ("user", Some((start, end))) if !inputs.critical => defer_past_quiet_hours(at, inputs.user_tz, start, end),
        _ => None,
    };
    let deliver_at = deferred_to.unwrap_or(at);
    cost.deliveries += 1;
    match recipient.channel.as_str() {
        "email" => cost.email += 1,
        "sms" => cost.sms += 1,
        "webhook" => cost.webhook += 1,
        _ => cost.pull += 1,
    }
    PreviewDelivery {
        recipient_kind: recipient.kind.to_owned(),
        recipient_id: recipient.id,
        recipient_name: recipient.name.clone(),
        channel: recipient.channel.clone(),
        timezone: recipient.tz.name().to_owned(),
        deliver_at,
        local_time: echo(deliver_at, recipient.tz),
        deferred: deferred_to.is_some(),
        deferred_reason: deferred_to.map(|_| "quiet hours".to_owned()),
    }
}

/// Who one tier reaches, as the engine will resolve it when the reminder fires.
fn resolve(inputs: &Inputs<'_>, tier: &Tier, skipped: &mut Vec<SkippedTarget>) -> Vec<Recipient> {
    let mut recipients: Vec<Recipient> = Vec::new();
    let add_subscription = |sub: &SubscriptionBrief, recipients: &mut Vec<Recipient>| {
        if !recipients.iter().any(|r| r.id == sub.id) {
            recipients.push(Recipient {
                kind: "user",
                id: sub.id,
                name: None,
                channel: sub.agent_type.clone(),
                tz: inputs.user_tz,
            });
        }
    };
    for id in &tier.agent_subscription_ids {
        match inputs.subscriptions.iter().find(|s| s.id == *id) {
            Some(sub) if sub.enabled && sub.verified => add_subscription(sub, &mut recipients),
            found => skipped.push(SkippedTarget {
                tier: tier.tier_number,
                channel: found.map(|s| s.agent_type.clone()),
                target_id: Some(*id),
                reason: match found {
                    Some(sub) if sub.enabled => "subscription not verified yet",
                    Some(_) => "subscription disabled",
                    None => "subscription no longer exists",
                }
                .to_owned(),
            }),
        }
    }
    for channel in &tier.channel_types {
        let matching: Vec<&SubscriptionBrief> =
            inputs.subscriptions.iter().filter(|s| s.enabled && s.verified && &s.agent_type == channel).collect();
        if matching.is_empty() {
            skipped.push(SkippedTarget {
                tier: tier.tier_number,
                channel: Some(channel.clone()),
                target_id: None,
                reason: format!("no active {channel} subscription"),
            });
        }
        for sub in matching {
            add_subscription(sub, &mut recipients);
        }
    }
    let wanted = |c: &ContactBrief| tier.include_trusted_contacts || tier.trusted_contact_ids.contains(&c.id);
    for contact in inputs.contacts.iter().filter(|c| wanted(c)) {
        if contact.consent_status != "accepted" {
            skipped.push(SkippedTarget {
                tier: tier.tier_number,
                channel: None,
                target_id: Some(contact.id),
                reason: format!("trusted contact has not accepted ({})", contact.consent_status),
            });
            continue;
        }
        // Every channel the contact can be reached on, as the engine's plan resolves it.
        let tz = contact.timezone.as_deref().and_then(parse_zone).unwrap_or(inputs.user_tz);
        let channels = [(contact.email.is_some(), "email"), (contact.phone.is_some(), "sms")];
        for (_, channel) in channels.into_iter().filter(|(reachable, _)| *reachable) {
            recipients.push(Recipient {
                kind: "contact",
                id: contact.id,
                name: Some(contact.name.clone()),
                channel: channel.to_owned(),
                tz,
            });
        }
    }
    for id in &tier.family_member_ids {
        match inputs.members.iter().find(|m| m.id == *id) {
            Some(member) if member.shared => recipients.push(Recipient {
                kind: "member",
                id: member.id,
                name: Some(member.name.clone()),
                channel: "email".to_owned(),
                tz: parse_zone(&member.timezone).unwrap_or(inputs.user_tz),
            }),
            found => skipped.push(SkippedTarget {
                tier: tier.tier_number,
                channel: Some("email".to_owned()),
                target_id: Some(*id),
                reason: match found {
                    Some(member) => format!("this reminder is not shared with {}", member.name),
                    None => "no longer in your family".to_owned(),
                },
            }),
        }
    }
    if tier.include_trusted_contacts && !inputs.contacts.iter().any(|c| c.consent_status == "accepted") {
        skipped.push(SkippedTarget {
            tier: tier.tier_number,
            channel: None,
            target_id: None,
            reason: "no trusted contact has accepted yet".to_owned(),
        });
    }
    recipients
}
