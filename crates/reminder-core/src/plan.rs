//! Turns an escalation profile into a concrete [`Plan`] at fire time: channel types become the user's
//! subscriptions of those types, "trusted contacts" become the contacts who accepted, one target per
//! contact and channel. A type the user has no subscription for is simply absent from the plan (the
//! preview shows it as skipped).

use std::collections::BTreeSet;

use serde::Deserialize;
use uuid::Uuid;

use crate::channel::ChannelKind;
use crate::machine::{Plan, PlannedTier, Target, TargetKind};

/// One tier as stored in `escalation_profiles.tiers` (the API's camelCase shape).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierSpec {
    pub tier_number: u16,
    pub delay_minutes: u32,
    #[serde(default)]
    pub agent_subscription_ids: Vec<Uuid>,
    #[serde(default)]
    pub channel_types: Vec<ChannelKind>,
    #[serde(default)]
    pub trusted_contact_ids: Vec<Uuid>,
    #[serde(default)]
    pub include_trusted_contacts: bool,
}

/// An enabled channel subscription of the user.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: Uuid,
    pub kind: ChannelKind,
}

/// A trusted contact who accepted, with the channels they can be reached on.
#[derive(Debug, Clone)]
pub struct Contact {
    pub id: Uuid,
    pub channels: Vec<ChannelKind>,
}

/// The profile settings the plan needs besides its tiers.
#[derive(Debug, Clone, Copy)]
pub struct ProfileSettings {
    pub repeat: u8,
    pub ack_window_minutes: u32,
    pub loop_gap_minutes: Option<u32>,
}

/// Resolves `tiers` for one user. `social` is false when social escalation is switched off.
pub fn resolve(
    tiers: &[TierSpec],
    settings: ProfileSettings,
    subscriptions: &[Subscription],
    contacts: &[Contact],
    social: bool,
) -> Plan {
    let planned: Vec<PlannedTier> = tiers
        .iter()
        .map(|spec| PlannedTier {
            tier: spec.tier_number,
            delay_minutes: spec.delay_minutes,
            targets: targets_of(spec, subscriptions, contacts, social),
        })
        .collect();
    let loop_gap_minutes = settings.loop_gap_minutes.unwrap_or_else(|| Plan::default_loop_gap_minutes(&planned));
    Plan { tiers: planned, repeat: settings.repeat, ack_window_minutes: settings.ack_window_minutes, loop_gap_minutes }
}

fn targets_of(spec: &TierSpec, subscriptions: &[Subscription], contacts: &[Contact], social: bool) -> Vec<Target> {
    // A set keeps targets unique and in a stable order (a subscription named by id and by type counts once).
    let mut chosen = BTreeSet::new();
    for sub in subscriptions {
        if spec.agent_subscription_ids.contains(&sub.id) || spec.channel_types.contains(&sub.kind) {
            chosen.insert(Target { kind: TargetKind::Subscription, id: sub.id, channel: sub.kind });
        }
    }
    if social {
        for contact in contacts {
            if spec.include_trusted_contacts || spec.trusted_contact_ids.contains(&contact.id) {
                for channel in &contact.channels {
                    chosen.insert(Target { kind: TargetKind::Contact, id: contact.id, channel: *channel });
                }
            }
        }
    }
    chosen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Vec<TierSpec> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn channel_types_resolve_to_subscriptions_and_missing_types_are_skipped() {
        let email = Subscription { id: Uuid::from_u128(1), kind: ChannelKind::Email };
        let hook = Subscription { id: Uuid::from_u128(2), kind: ChannelKind::Webhook };
        let tiers = spec(
            r#"[{"tierNumber":1,"delayMinutes":0,"channelTypes":["email","sms"]},
                {"tierNumber":2,"delayMinutes":5,"agentSubscriptionIds":["00000000-0000-0000-0000-000000000002"],"channelTypes":["webhook"],"includeTrustedContacts":true}]"#,
        );
        let contact = Contact { id: Uuid::from_u128(9), channels: vec![ChannelKind::Email, ChannelKind::Sms] };
        let settings = ProfileSettings { repeat: 1, ack_window_minutes: 30, loop_gap_minutes: None };
        let plan = resolve(&tiers, settings, &[email.clone(), hook.clone()], std::slice::from_ref(&contact), true);
        assert_eq!(plan.tiers[0].targets.len(), 1, "sms has no subscription: skipped");
        assert_eq!(plan.tiers[0].targets[0].id, email.id);
        assert_eq!(plan.tiers[1].targets.len(), 3, "webhook once (named twice) + contact on two channels");
        assert_eq!(plan.loop_gap_minutes, Plan::default_loop_gap_minutes(&plan.tiers));

        let without_social = resolve(&tiers, settings, &[email, hook], &[contact], false);
        assert_eq!(without_social.tiers[1].targets.len(), 1);
    }
}
