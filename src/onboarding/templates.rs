//! The reminders a new account can start from with one press. Each is an ordinary reminder input (a cron
//! schedule in the owner's zone, on a preset profile that suits it), created by the reminders service.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::TemplateView;
use crate::reminders::views::{ReminderInput, ScheduleInput};

/// Which template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKey {
    Medication,
    Bills,
    CallFamily,
}

struct Template {
    title: &'static str,
    importance: &'static str,
    /// Five-field cron in the owner's zone.
    cron: &'static str,
    /// The cron in words.
    when: &'static str,
    /// A preset profile (`escalation_profiles` rows with `is_preset`, from the reminders migration).
    profile: Uuid,
}

const GENTLE: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0001);
const MEDICATION: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0004);
const BILL_DUE: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0005);

impl TemplateKey {
    pub const ALL: [TemplateKey; 3] = [TemplateKey::Medication, TemplateKey::Bills, TemplateKey::CallFamily];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKey::Medication => "medication",
            TemplateKey::Bills => "bills",
            TemplateKey::CallFamily => "call_family",
        }
    }

    fn template(self) -> Template {
        match self {
            TemplateKey::Medication => Template {
                title: "Take my medication",
                importance: "high",
                cron: "0 9 * * *",
                when: "every day at 09:00",
                profile: MEDICATION,
            },
            TemplateKey::Bills => Template {
                title: "Pay the bills",
                importance: "medium",
                cron: "0 10 1 * *",
                when: "on the 1st of every month at 10:00",
                profile: BILL_DUE,
            },
            TemplateKey::CallFamily => Template {
                title: "Call the family",
                importance: "medium",
                cron: "0 18 * * 0",
                when: "every Sunday at 18:00",
                profile: GENTLE,
            },
        }
    }
}

/// Every template as the API lists it.
pub fn all() -> Vec<TemplateView> {
    TemplateKey::ALL
        .into_iter()
        .map(|key| {
            let t = key.template();
            TemplateView {
                template: key,
                title: t.title.to_owned(),
                schedule: t.when.to_owned(),
                importance: t.importance.to_owned(),
            }
        })
        .collect()
}

/// The reminder `key` stands for, as `POST /v1/reminders` would receive it (its schedule in the owner's zone).
pub fn input(key: TemplateKey) -> ReminderInput {
    let t = key.template();
    ReminderInput {
        title: t.title.to_owned(),
        description: None,
        importance: Some(t.importance.to_owned()),
        escalation_profile_id: t.profile,
        schedule: ScheduleInput {
            kind: "cron".to_owned(),
            trigger_at: None,
            expression: Some(t.cron.to_owned()),
            interval_minutes: None,
            start_at: None,
            rrule: None,
            dtstart: None,
            timezone: None,
        },
        exclude_dates: None,
        skip_weekends: None,
        skip_holidays: None,
        completion_criteria: None,
    }
}
