//! The escalation profile editor's form: a profile's fields and a list of tiers, posted as flat pairs
//! (`t0-delay`, `t0-channel` …) so it works as a plain HTML form, and how it becomes the API's input.

use std::collections::BTreeMap;

use reminder_core::ChannelKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Errors;
use crate::profiles::Tier;
use crate::profiles::model::{ProfileInput, ProfilePatch, ProfileView, TierInput};

/// Tiers the form reads at most (the API refuses more than this too); further ones are ignored.
pub const MAX_TIERS: usize = 20;
/// The delay a tier may have at most, in minutes (four weeks, as the API).
const MAX_DELAY_MINUTES: u32 = 40_320;
/// The loop gap's range, in minutes (as the API).
const MAX_LOOP_GAP_MINUTES: u32 = 10_080;

/// The editor as typed (kept to fill the form again after an error or a preview).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProfileForm {
    pub name: String,
    pub description: String,
    pub repeat: String,
    pub ack_window_minutes: String,
    pub loop_gap_minutes: String,
    /// The version an edit started from (empty for a new profile); a stale one is a conflict.
    pub version: String,
    pub tiers: Vec<TierForm>,
}

/// One tier as typed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TierForm {
    /// Minutes after the reminder fired.
    pub delay: String,
    /// Channel types (`email`, `sms`, `webhook`, `pull`): every channel of that type.
    pub channels: Vec<String>,
    /// Particular channels (subscription ids).
    pub subscriptions: Vec<String>,
    /// Particular trusted contacts.
    pub contacts: Vec<String>,
    /// Every contact who accepted.
    pub all_contacts: bool,
    /// Family members (user ids).
    pub members: Vec<String>,
    pub message: String,
}

/// What the submit button asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Save,
    /// Draw the picture of the form's values (the no-script way to see it change).
    Preview,
    AddTier,
    RemoveTier(usize),
}

/// The posted (or queried) editor: its fields, the form token and the button pressed, read from the flat
/// pairs by [`ProfileForm::from_pairs`].
#[derive(Debug, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub struct EditorPost {
    pub form: ProfileForm,
    pub csrf: String,
    pub op: Op,
}

impl From<Vec<(String, String)>> for EditorPost {
    fn from(pairs: Vec<(String, String)>) -> Self {
        ProfileForm::from_pairs(&pairs)
    }
}

impl ProfileForm {
    /// A new profile: one tier that emails at once.
    pub fn blank() -> ProfileForm {
        ProfileForm {
            repeat: "0".into(),
            ack_window_minutes: "60".into(),
            tiers: vec![TierForm { delay: "0".into(), channels: vec!["email".into()], ..TierForm::default() }],
            ..ProfileForm::default()
        }
    }

    /// The form of a stored profile (or of a preset to copy).
    pub fn from_view(view: &ProfileView) -> ProfileForm {
        let ids = |ids: &[Uuid]| ids.iter().map(Uuid::to_string).collect();
        ProfileForm {
            name: view.name.clone(),
            description: view.description.clone().unwrap_or_default(),
            repeat: view.repeat.to_string(),
            ack_window_minutes: view.ack_window_minutes.to_string(),
            loop_gap_minutes: view.loop_gap_minutes.map(|gap| gap.to_string()).unwrap_or_default(),
            version: view.version.to_string(),
            tiers: view
                .tiers
                .iter()
                .map(|tier| TierForm {
                    delay: tier.delay_minutes.to_string(),
                    channels: tier.channel_types.clone(),
                    subscriptions: ids(&tier.agent_subscription_ids),
                    contacts: ids(&tier.trusted_contact_ids),
                    all_contacts: tier.include_trusted_contacts,
                    members: ids(&tier.family_member_ids),
                    message: tier.message.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Reads the posted (or queried) pairs. Tier fields are `t<index>-<field>`; tiers come in index order.
    pub fn from_pairs(pairs: &[(String, String)]) -> EditorPost {
        let mut form = ProfileForm::default();
        let (mut csrf, mut op) = (String::new(), Op::Save);
        let mut tiers: BTreeMap<usize, TierForm> = BTreeMap::new();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => csrf.clone_from(value),
                "op" => op = parse_op(value),
                "name" => form.name.clone_from(value),
                "description" => form.description.clone_from(value),
                "repeat" => form.repeat.clone_from(value),
                "ack_window_minutes" => form.ack_window_minutes.clone_from(value),
                "loop_gap_minutes" => form.loop_gap_minutes.clone_from(value),
                "version" => form.version.clone_from(value),
                _ => {
                    let Some((index, field)) = tier_key(key) else { continue };
                    let tier = tiers.entry(index).or_default();
                    match field {
                        "delay" => tier.delay.clone_from(value),
                        "channel" => tier.channels.push(value.clone()),
                        "subscription" => tier.subscriptions.push(value.clone()),
                        "contact" => tier.contacts.push(value.clone()),
                        "all_contacts" => tier.all_contacts = true,
                        "member" => tier.members.push(value.clone()),
                        "message" => tier.message.clone_from(value),
                        _ => {}
                    }
                }
            }
        }
        form.tiers = tiers.into_values().collect();
        EditorPost { form, csrf, op }
    }

    /// Adds a tier half an hour after the last one, sending email.
    pub fn add_tier(&mut self) {
        if self.tiers.len() >= MAX_TIERS {
            return;
        }
        let last = self.tiers.last().and_then(|t| t.delay.trim().parse::<u32>().ok());
        let delay = last.map_or(0, |delay| delay.saturating_add(30).min(MAX_DELAY_MINUTES));
        self.tiers.push(TierForm { delay: delay.to_string(), channels: vec!["email".into()], ..TierForm::default() });
    }

    pub fn remove_tier(&mut self, index: usize) {
        if index < self.tiers.len() {
            self.tiers.remove(index);
        }
    }

    /// The tiers for the API, or the fields the console itself refuses.
    fn tier_inputs(&self, errors: &mut Errors) -> Vec<TierInput> {
        let mut inputs = Vec::new();
        for (index, tier) in self.tiers.iter().enumerate() {
            let delay = match tier.delay.trim().parse::<u32>() {
                Ok(delay) => delay,
                Err(_) => {
                    errors.insert(format!("t{index}-delay"), "Give a whole number of minutes, such as 0 or 30.".into());
                    0
                }
            };
            let mut ids = |raw: &[String]| -> Vec<Uuid> {
                raw.iter()
                    .filter_map(|id| {
                        let parsed = Uuid::parse_str(id.trim()).ok();
                        if parsed.is_none() {
                            errors.insert(format!("t{index}"), "Choose channels and contacts from the list.".into());
                        }
                        parsed
                    })
                    .collect()
            };
            let agent_subscription_ids = ids(&tier.subscriptions);
            let trusted_contact_ids = ids(&tier.contacts);
            let family_member_ids = ids(&tier.members);
            inputs.push(TierInput {
                tier_number: u16::try_from(index + 1).unwrap_or(u16::MAX),
                delay_minutes: delay,
                agent_subscription_ids,
                channel_types: tier.channels.clone(),
                trusted_contact_ids,
                include_trusted_contacts: tier.all_contacts,
                family_member_ids,
                message: Some(tier.message.clone()).filter(|m| !m.trim().is_empty()),
            });
        }
        inputs
    }

    /// The numbers of the profile as a whole: repeat, acknowledgement window, loop gap (blank = default).
    fn numbers(&self, errors: &mut Errors) -> (u8, u32, Option<u32>) {
        let repeat = self.repeat.trim().parse::<u8>().unwrap_or_else(|_| {
            errors.insert("repeat".into(), "Choose how many times the tiers run again.".into());
            0
        });
        let ack = self.ack_window_minutes.trim().parse::<u32>().unwrap_or_else(|_| {
            errors.insert("ack_window_minutes".into(), "Give a whole number of minutes, such as 60.".into());
            0
        });
        let gap = match self.loop_gap_minutes.trim() {
            "" => None,
            raw => match raw.parse::<u32>() {
                Ok(gap) => Some(gap),
                Err(_) => {
                    errors.insert(
                        "loop_gap_minutes".into(),
                        "Give a whole number of minutes, or leave it empty for the default.".into(),
                    );
                    None
                }
            },
        };
        (repeat, ack, gap)
    }

    pub fn to_input(&self) -> Result<ProfileInput, Errors> {
        let mut errors = Errors::new();
        let tiers = self.tier_inputs(&mut errors);
        let (repeat, ack, gap) = self.numbers(&mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ProfileInput {
            name: self.name.clone(),
            description: Some(self.description.clone()),
            tiers,
            repeat: Some(repeat),
            ack_window_minutes: Some(ack),
            loop_gap_minutes: gap,
        })
    }

    /// The whole form as a patch: every field replaced, checked against the version the edit started from.
    pub fn to_patch(&self) -> Result<ProfilePatch, Errors> {
        let input = self.to_input()?;
        Ok(ProfilePatch {
            name: Some(input.name),
            description: Some(input.description),
            tiers: Some(input.tiers),
            repeat: input.repeat,
            ack_window_minutes: input.ack_window_minutes,
            loop_gap_minutes: Some(input.loop_gap_minutes),
            version: self.version.trim().parse().ok(),
        })
    }

    /// The ladder as far as it reads, for the picture while typing: a tier whose delay is not a number yet
    /// is left out, unknown channel types and ids are dropped, numbers are held to the API's ranges.
    pub fn ladder(&self) -> (Vec<Tier>, u8, Option<u32>) {
        let ids = |raw: &[String]| raw.iter().filter_map(|id| Uuid::parse_str(id.trim()).ok()).collect();
        let tiers = self
            .tiers
            .iter()
            .take(MAX_TIERS)
            .filter_map(|tier| Some((tier.delay.trim().parse::<u32>().ok()?.min(MAX_DELAY_MINUTES), tier)))
            .enumerate()
            .map(|(index, (delay, tier))| Tier {
                tier_number: u16::try_from(index + 1).unwrap_or(u16::MAX),
                delay_minutes: delay,
                agent_subscription_ids: ids(&tier.subscriptions),
                channel_types: tier.channels.iter().filter(|c| ChannelKind::parse(c).is_some()).cloned().collect(),
                trusted_contact_ids: ids(&tier.contacts),
                include_trusted_contacts: tier.all_contacts,
                family_member_ids: ids(&tier.members),
                message: None,
            })
            .collect();
        let repeat = self.repeat.trim().parse::<u8>().map_or(0, |r| r.min(reminder_core::machine::MAX_REPEAT));
        let gap = self.loop_gap_minutes.trim().parse::<u32>().ok().map(|g| g.clamp(1, MAX_LOOP_GAP_MINUTES));
        (tiers, repeat, gap)
    }

    /// The form field that shows an API field error (`tiers[1].delayMinutes` → `t1-delay`).
    pub fn field_for(api_field: &str) -> String {
        let plain = match api_field {
            "name" => "name",
            "description" => "description",
            "repeat" => "repeat",
            "ackWindowMinutes" => "ack_window_minutes",
            "loopGapMinutes" => "loop_gap_minutes",
            "tiers" => "tiers",
            _ => "",
        };
        if !plain.is_empty() {
            return plain.to_owned();
        }
        let Some(rest) = api_field.strip_prefix("tiers[") else { return String::new() };
        let Some((index, field)) = rest.split_once(']') else { return String::new() };
        let Ok(index) = index.parse::<usize>() else { return String::new() };
        match field {
            ".delayMinutes" => format!("t{index}-delay"),
            ".message" => format!("t{index}-message"),
            _ => format!("t{index}"),
        }
    }
}

fn parse_op(value: &str) -> Op {
    match value {
        "preview" => Op::Preview,
        "add" => Op::AddTier,
        _ => match value.strip_prefix("remove-").and_then(|i| i.parse().ok()) {
            Some(index) => Op::RemoveTier(index),
            None => Op::Save,
        },
    }
}

/// `t3-delay` → (3, "delay"); indexes past [`MAX_TIERS`] are not read.
fn tier_key(key: &str) -> Option<(usize, &str)> {
    let (index, field) = key.strip_prefix('t')?.split_once('-')?;
    let index = index.parse::<usize>().ok().filter(|i| *i < MAX_TIERS)?;
    Some((index, field))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn tiers_are_read_from_flat_pairs_in_index_order() {
        let posted = ProfileForm::from_pairs(&pairs(&[
            ("csrf", "tok"),
            ("name", "Pills"),
            ("t1-delay", "30"),
            ("t1-channel", "sms"),
            ("t0-delay", "0"),
            ("t0-channel", "email"),
            ("t0-channel", "pull"),
            ("t1-all_contacts", "on"),
            ("t99-delay", "5"),
            ("repeat", "1"),
            ("ack_window_minutes", "60"),
            ("op", "remove-1"),
        ]));
        assert_eq!((posted.csrf.as_str(), posted.op), ("tok", Op::RemoveTier(1)));
        let form = posted.form;
        assert_eq!(form.tiers.len(), 2, "t99 is past the limit");
        assert_eq!(form.tiers[0].channels, vec!["email", "pull"]);
        assert!(form.tiers[1].all_contacts && form.tiers[1].delay == "30");
        let input = form.to_input().unwrap();
        assert_eq!(input.tiers[1].tier_number, 2);
        assert_eq!((input.repeat, input.ack_window_minutes, input.loop_gap_minutes), (Some(1), Some(60), None));
    }

    #[test]
    fn numbers_that_do_not_read_are_errors_at_their_fields_and_left_out_of_the_picture() {
        let mut form = ProfileForm::blank();
        form.add_tier();
        form.tiers[1].delay = "soon".into();
        form.ack_window_minutes = "an hour".into();
        let errors = form.to_input().unwrap_err();
        assert!(errors.contains_key("t1-delay") && errors.contains_key("ack_window_minutes"), "{errors:?}");
        let (tiers, repeat, gap) = form.ladder();
        assert_eq!((tiers.len(), repeat, gap), (1, 0, None));
    }

    #[test]
    fn api_fields_map_to_the_editors_fields() {
        assert_eq!(ProfileForm::field_for("tiers[2].delayMinutes"), "t2-delay");
        assert_eq!(ProfileForm::field_for("tiers[0].channelTypes[1]"), "t0");
        assert_eq!(ProfileForm::field_for("tiers[3]"), "t3");
        assert_eq!(ProfileForm::field_for("ackWindowMinutes"), "ack_window_minutes");
        assert_eq!(ProfileForm::field_for("tiers"), "tiers");
        assert_eq!(ProfileForm::field_for("bogus"), "");
    }

    #[test]
    fn a_new_tier_follows_the_last_one() {
        let mut form = ProfileForm::blank();
        form.add_tier();
        form.add_tier();
        let delays: Vec<_> = form.tiers.iter().map(|t| t.delay.as_str()).collect();
        assert_eq!(delays, ["0", "30", "60"]);
        form.remove_tier(1);
        form.remove_tier(7);
        assert_eq!(form.tiers.len(), 2);
    }
}
