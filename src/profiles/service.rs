//! Profile rules: validation (tiers, delays, targets the caller owns), preset immutability, delete guard.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ChannelKind;
use reminder_core::ids::{ProfileId, UserId};
use uuid::Uuid;

use super::model::{ProfileInput, ProfilePatch, ProfileRow, ProfileView, Tier, TierInput};
use super::store::{self, ProfileValues};
use crate::http::envelope::Pagination;
use crate::http::pagination::Page;
use crate::http::{ApiError, FieldError};

const NAME_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 2000;
const MESSAGE_MAX: usize = 500;
const MAX_TIERS: usize = 20;
const MAX_TARGET_IDS: usize = 50;
/// Four weeks: a ladder longer than that is a new reminder, not an escalation.
const MAX_DELAY_MINUTES: u32 = 40_320;
const DEFAULT_ACK_WINDOW_MINUTES: u32 = 60;
const MAX_ACK_WINDOW_MINUTES: u32 = 10_080;
const MAX_LOOP_GAP_MINUTES: u32 = 10_080;

/// A whole profile before it is written: built from an input, or from a stored row with a patch applied.
struct Draft {
    name: String,
    description: Option<String>,
    tiers: Vec<Tier>,
    repeat: u8,
    ack_window_minutes: u32,
    loop_gap_minutes: Option<u32>,
}

fn tier_from_input(input: TierInput) -> Tier {
    Tier {
        tier_number: input.tier_number,
        delay_minutes: input.delay_minutes,
        agent_subscription_ids: input.agent_subscription_ids,
        channel_types: input.channel_types,
        trusted_contact_ids: input.trusted_contact_ids,
        include_trusted_contacts: input.include_trusted_contacts,
        family_member_ids: input.family_member_ids,
        message: input.message.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()),
    }
}

/// Checks everything that needs no database; every bad field is recorded.
fn check_draft(draft: &Draft, errors: &mut Vec<FieldError>) {
    if draft.name.is_empty() || draft.name.chars().count() > NAME_MAX || draft.name.chars().any(char::is_control) {
        errors.push(FieldError::new("name", format!("must be 1 to {NAME_MAX} characters")));
    }
    if draft.description.as_ref().is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors.push(FieldError::new("description", format!("must be at most {DESCRIPTION_MAX} characters")));
    }
    if draft.tiers.is_empty() || draft.tiers.len() > MAX_TIERS {
        errors.push(FieldError::new("tiers", format!("must hold 1 to {MAX_TIERS} tiers")));
    }
    let mut previous_delay = 0;
    for (index, tier) in draft.tiers.iter().enumerate() {
        let at = |field: &str| format!("tiers[{index}].{field}");
        if usize::from(tier.tier_number) != index + 1 {
            errors.push(FieldError::new(
                at("tierNumber"),
                format!("must be {}: tiers are numbered 1..n in order", index + 1),
            ));
        }
        if tier.delay_minutes > MAX_DELAY_MINUTES {
            errors.push(FieldError::new(at("delayMinutes"), format!("must be at most {MAX_DELAY_MINUTES}")));
        } else if tier.delay_minutes < previous_delay {
            errors.push(FieldError::new(
                at("delayMinutes"),
                format!("must not be less than the previous tier's {previous_delay}: delays count from the moment the reminder fired"),
            ));
        }
        previous_delay = previous_delay.max(tier.delay_minutes);
        for (position, channel) in tier.channel_types.iter().enumerate() {
            if ChannelKind::parse(channel).is_none() {
                errors.push(FieldError::new(
                    at(&format!("channelTypes[{position}]")),
                    "must be one of email, sms, webhook, pull",
                ));
            }
        }
        let no_target = tier.agent_subscription_ids.is_empty()
            && tier.channel_types.is_empty()
            && tier.trusted_contact_ids.is_empty()
            && !tier.include_trusted_contacts
            && tier.family_member_ids.is_empty();
        if no_target {
            errors.push(FieldError::new(
                format!("tiers[{index}]"),
                "needs at least one target: agentSubscriptionIds, channelTypes, trustedContactIds, includeTrustedContacts or familyMemberIds",
            ));
        }
        if tier.agent_subscription_ids.len() > MAX_TARGET_IDS
            || tier.trusted_contact_ids.len() > MAX_TARGET_IDS
            || tier.family_member_ids.len() > MAX_TARGET_IDS
        {
            errors.push(FieldError::new(format!("tiers[{index}]"), format!("at most {MAX_TARGET_IDS} ids per list")));
        }
        if tier.message.as_ref().is_some_and(|m| m.chars().count() > MESSAGE_MAX) {
            errors.push(FieldError::new(at("message"), format!("must be at most {MESSAGE_MAX} characters")));
        }
    }
    if draft.repeat > reminder_core::machine::MAX_REPEAT {
        errors.push(FieldError::new("repeat", "must be 0 to 10"));
    }
    if draft.ack_window_minutes > MAX_ACK_WINDOW_MINUTES {
        errors.push(FieldError::new("ackWindowMinutes", format!("must be 0 to {MAX_ACK_WINDOW_MINUTES}")));
    }
    if draft.loop_gap_minutes.is_some_and(|gap| !(1..=MAX_LOOP_GAP_MINUTES).contains(&gap)) {
        errors.push(FieldError::new("loopGapMinutes", format!("must be 1 to {MAX_LOOP_GAP_MINUTES}")));
    }
}

/// Every subscription and contact id must be the caller's; another user's id reads as "not found" so the
/// answer does not reveal that it exists.
async fn check_targets(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    tiers: &[Tier],
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    let subscription_ids: Vec<Uuid> = tiers.iter().flat_map(|t| t.agent_subscription_ids.iter().copied()).collect();
    let contact_ids: Vec<Uuid> = tiers.iter().flat_map(|t| t.trusted_contact_ids.iter().copied()).collect();
    let own_subscriptions = store::own_subscription_ids(conn, owner, &subscription_ids).await?;
    let own_contacts = store::own_contact_ids(conn, owner, &contact_ids).await?;
    let member_ids: Vec<Uuid> = tiers.iter().flat_map(|t| t.family_member_ids.iter().copied()).collect();
    let members =
        if member_ids.is_empty() { Vec::new() } else { crate::family::store::active_member_ids(conn, owner).await? };
    for (index, tier) in tiers.iter().enumerate() {
        for (position, id) in tier.agent_subscription_ids.iter().enumerate() {
            if !own_subscriptions.contains(id) {
                errors.push(FieldError::new(format!("tiers[{index}].agentSubscriptionIds[{position}]"), "not found"));
            }
        }
        for (position, id) in tier.trusted_contact_ids.iter().enumerate() {
            if !own_contacts.contains(id) {
                errors.push(FieldError::new(format!("tiers[{index}].trustedContactIds[{position}]"), "not found"));
            }
        }
        for (position, id) in tier.family_member_ids.iter().enumerate() {
            if !members.iter().any(|member| member.uuid() == *id) {
                errors.push(FieldError::new(
                    format!("tiers[{index}].familyMemberIds[{position}]"),
                    "not a member of your family group",
                ));
            }
        }
    }
    Ok(())
}

async fn validated_values(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    draft: Draft,
) -> Result<ProfileValues, ApiError> {
    let mut errors = Vec::new();
    check_draft(&draft, &mut errors);
    check_targets(conn, owner, &draft.tiers, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(ProfileValues {
        name: draft.name,
        description: draft.description,
        tiers: serde_json::to_value(&draft.tiers).map_err(ApiError::internal)?,
        repeat_count: i16::from(draft.repeat),
        ack_window_minutes: i32::try_from(draft.ack_window_minutes).map_err(ApiError::internal)?,
        loop_gap_minutes: draft.loop_gap_minutes.map(i32::try_from).transpose().map_err(ApiError::internal)?,
    })
}

fn view(row: ProfileRow) -> Result<ProfileView, ApiError> {
    ProfileView::from_row(row).map_err(ApiError::internal)
}

fn clean_description(raw: Option<String>) -> Option<String> {
    raw.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())
}

pub async fn create(conn: &mut AsyncPgConnection, owner: UserId, input: ProfileInput) -> Result<ProfileView, ApiError> {
    let draft = Draft {
        name: input.name.trim().to_owned(),
        description: clean_description(input.description),
        tiers: input.tiers.into_iter().map(tier_from_input).collect(),
        repeat: input.repeat.unwrap_or(0),
        ack_window_minutes: input.ack_window_minutes.unwrap_or(DEFAULT_ACK_WINDOW_MINUTES),
        loop_gap_minutes: input.loop_gap_minutes,
    };
    let values = validated_values(conn, owner, draft).await?;
    view(store::insert(conn, owner, &values).await?)
}

pub async fn get(conn: &mut AsyncPgConnection, owner: UserId, id: ProfileId) -> Result<ProfileView, ApiError> {
    view(store::find_visible(conn, owner, id).await?.ok_or_else(not_found)?)
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    page: Page,
) -> Result<(Vec<ProfileView>, Pagination), ApiError> {
    let (rows, total) = store::list_visible(conn, owner, page).await?;
    let views = rows.into_iter().map(view).collect::<Result<Vec<_>, _>>()?;
    Ok((views, page.pagination(total)))
}

/// Presets answer 403 (everyone can see them, so there is nothing to hide); another user's profile 404.
pub async fn update(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    id: ProfileId,
    patch: ProfilePatch,
) -> Result<ProfileView, ApiError> {
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let Some(row) = store::lock_own(conn, owner, id).await? else {
            return Err(refuse_preset_or_missing(conn, owner, id).await);
        };
        if patch.version.is_some_and(|v| v != row.version) {
            return Err(stale(row.version));
        }
        let current = row.parsed_tiers().map_err(ApiError::internal)?;
        let draft = Draft {
            name: patch.name.map(|n| n.trim().to_owned()).unwrap_or(row.name),
            description: match patch.description {
                Some(value) => clean_description(value),
                None => row.description,
            },
            tiers: patch.tiers.map(|t| t.into_iter().map(tier_from_input).collect()).unwrap_or(current),
            repeat: patch.repeat.unwrap_or(u8::try_from(row.repeat_count).map_err(ApiError::internal)?),
            ack_window_minutes: patch
                .ack_window_minutes
                .unwrap_or(u32::try_from(row.ack_window_minutes).map_err(ApiError::internal)?),
            loop_gap_minutes: match patch.loop_gap_minutes {
                Some(value) => value,
                None => row.loop_gap_minutes.map(u32::try_from).transpose().map_err(ApiError::internal)?,
            },
        };
        let values = validated_values(conn, owner, draft).await?;
        view(store::replace(conn, owner, id, &values).await?)
    })
    .await
}

pub async fn delete(conn: &mut AsyncPgConnection, owner: UserId, id: ProfileId) -> Result<(), ApiError> {
    conn.transaction::<_, ApiError, _>(async move |conn| {
        if store::lock_own(conn, owner, id).await?.is_none() {
            return Err(refuse_preset_or_missing(conn, owner, id).await);
        }
        let using = store::reminders_using(conn, id).await?;
        if using > 0 {
            return Err(ApiError::conflict(format!(
                "This profile is used by {using} reminder(s), archived ones included; move them to another profile first."
            )));
        }
        store::delete_own(conn, owner, id).await?;
        Ok(())
    })
    .await
}

async fn refuse_preset_or_missing(conn: &mut AsyncPgConnection, owner: UserId, id: ProfileId) -> ApiError {
    match store::find_visible(conn, owner, id).await {
        Ok(Some(row)) if row.is_preset => {
            ApiError::forbidden("Presets cannot be changed or deleted; create your own profile.")
        }
        Ok(_) => not_found(),
        Err(err) => err.into(),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("Escalation profile")
}

fn stale(current: i32) -> ApiError {
    ApiError::conflict(format!("The profile was changed meanwhile (now version {current}); reload it and retry."))
}
