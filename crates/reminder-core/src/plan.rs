//! Turns an escalation profile into a concrete [`Plan`] at fire time: channel types become the user's
//! subscriptions of those types, "trusted contacts" become the contacts who accepted, one target per
//! contact and channel; family members named in a tier become one email target each, when the reminder is
//! shared with them. A type the user has no subscription for is simply absent from the plan (the preview
//! shows it as skipped).

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
    /// Members of the owner's family group (their user ids), reached when the reminder is shared with them.
    #[serde(default)]
    pub family_member_ids: Vec<Uuid>,
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

/// Who a reminder can reach besides the owner's own channels.
#[derive(Debug, Clone, Copy)]
pub struct Others<'a> {
    /// Trusted contacts who accepted; ignored when `social` is false.
    pub contacts: &'a [Contact],
    /// Whether social escalation is switched on.
    pub social: bool,
    /// Family members the reminder is shared with (user ids).
    pub members: &'a [Uuid],
}

/// Resolves `tiers` for one user.
pub fn resolve(tiers: &[TierSpec], settings: ProfileSettings, subscriptions: &[Subscription], others: Others) -> Plan {
    let planned: Vec<PlannedTier> = tiers
        .iter()
        .map(|spec| PlannedTier {
            tier: spec.tier_number,
            delay_minutes: spec.delay_minutes,
            targets: targets_of(spec, subscriptions, others),
        })
        .collect();
    let loop_gap_minutes = settings.loop_gap_minutes.unwrap_or_else(|| Plan::default_loop_gap_minutes(&planned));
    Plan { tiers: planned, repeat: settings.repeat, ack_window_minutes: settings.ack_window_minutes, loop_gap_minutes }
}

fn targets_of(spec: &TierSpec, subscriptions: &[Subscription], others: Others) -> Vec<Target> {
    // A set keeps targets unique and in a stable order (a subscription named by id and by type counts once).
    let mut chosen = BTreeSet::new();
    for sub in subscriptions {
        if spec.agent_subscription_ids.contains(&sub.id) || spec.channel_types.contains(&sub.kind) {
            chosen.insert(Target { kind: TargetKind::Subscription, id: sub.id, channel: sub.kind });
        }
    }
    if others.social {
        for contact in others.contacts {
            if spec.include_trusted_contacts || spec.trusted_contact_ids.contains(&contact.id) {
                for channel in &contact.channels {
                    chosen.insert(Target { kind: TargetKind::Contact, id: contact.id, channel: *channel });
                }
            }
        }
    }
    for member in others.members.iter().filter(|member| spec.family_member_ids.contains(member)) {
        chosen.insert(Target { kind: TargetKind::Member, id: *member, channel: ChannelKind::Email });
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
        let others = Others { contacts: std::slice::from_ref(&contact), social: true, members: &[] };
        let plan = resolve(&tiers, settings, &[email.clone(), hook.clone()], others);
        assert_eq!(plan.tiers[0].targets.len(), 1, "sms has no subscription: skipped");
        assert_eq!(plan.tiers[0].targets[0].id, email.id);
        assert_eq!(plan.tiers[1].targets.len(), 3, "webhook once (named twice) + contact on two channels");
        assert_eq!(plan.loop_gap_minutes, Plan::default_loop_gap_minutes(&plan.tiers));

        let without_social =
            resolve(&tiers, settings, &[email, hook], Others { contacts: &[contact], social: false, members: &[] });
        assert_eq!(without_social.tiers[1].targets.len(), 1);
    }

    #[test]
    fn family_members_are_reached_only_when_the_reminder_is_shared_with_them() {
        let (shared, not_shared) = (Uuid::from_u128(7), Uuid::from_u128(8));
        let tiers = spec(
            r#"[{"tierNumber":1,"delayMinutes":0,"channelTypes":[]},
                {"tierNumber":2,"delayMinutes":5,"familyMemberIds":["00000000-0000-0000-0000-000000000007",
                 "00000000-0000-0000-0000-000000000008"]}]"#,
        );
        let settings = ProfileSettings { repeat: 1, ack_window_minutes: 30, loop_gap_minutes: None };
        let others = Others { contacts: &[], social: false, members: &[shared, Uuid::from_u128(9)] };
        let plan = resolve(&tiers, settings, &[], others);
        assert!(plan.tiers[0].targets.is_empty(), "tier 1 names nobody");
        assert_eq!(
            plan.tiers[1].targets,
            vec![Target { kind: TargetKind::Member, id: shared, channel: ChannelKind::Email }],
            "the member not shared with ({not_shared}) and the one not named are not reached"
        );
    }
}
