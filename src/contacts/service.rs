//! Contact rules: field checks, the tier's contact limit, and the invitation that every new address gets
//! (a changed address must consent again). The invitation is the message that asks an address for
//! consent, so it is limited like a verification code: a few per address and day (however often the
//! address is changed back and forth), under the delivery controls, an SMS counted against the budget.

use chrono::NaiveTime;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ChannelKind;
use reminder_core::ids::{ContactId, UserId};
use serde::Deserialize;

use super::consent;
use super::store::{self, ContactChanges, ContactRow, ContactView, NewContact};
use crate::accounts::users::model::QuietHours;
use crate::accounts::users::notice::{self, Notice};
use crate::accounts::users::service::{check_quiet_hours, check_timezone};
use crate::billing::direct::{self, Admission};
use crate::http::{ApiError, FieldError};
use crate::notifications::outreach;
use crate::state::AppState;

const NAME_MAX: usize = 100;
const RELATIONSHIP_MAX: usize = 100;
const EMAIL_MAX: usize = 254;

/// `POST /v1/trusted-contacts`: an email address, an E.164 phone number, or both.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub relationship: Option<String>,
    /// The contact's IANA time zone, such as `Europe/Berlin`; absent or null: the owner's.
    #[schema(example = "Europe/Berlin")]
    pub timezone: Option<String>,
    /// When not to reach the contact, on their zone's clock; absent or null: the owner's.
    pub quiet_hours: Option<QuietHours>,
}

/// `PATCH /v1/trusted-contacts/{id}`: absent fields stay; `null` clears email, phone or relationship, and
/// returns the time zone or quiet hours to the owner's. A new address resets consent and sends a new
/// invitation; nothing else does.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<String>)]
    pub relationship: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<String>, example = "Europe/Berlin")]
    pub timezone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<QuietHours>)]
    pub quiet_hours: Option<Option<QuietHours>>,
}

fn text(field: &str, raw: Option<String>, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = raw.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > max || v.chars().any(char::is_control)) {
        errors.push(FieldError::new(field, format!("must be at most {max} characters")));
    }
    value
}

fn clean_name(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let name = text("name", Some(raw.to_owned()), NAME_MAX, errors);
    if name.is_none() {
        errors.push(FieldError::new("name", format!("must be 1 to {NAME_MAX} characters")));
    }
    name.unwrap_or_default()
}

fn clean_email(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let email = text("email", raw, EMAIL_MAX, errors).map(|e| e.to_ascii_lowercase());
    if email.as_ref().is_some_and(|e| {
        let (local, domain) = e.split_once('@').unwrap_or_default();
        local.is_empty() || !domain.contains('.') || e.contains(char::is_whitespace)
    }) {
        errors.push(FieldError::new("email", "must be an email address"));
    }
    email
}

fn clean_phone(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let phone = text("phone", raw, 16, errors);
    if phone.as_ref().is_some_and(|p| !crate::config::is_e164(p)) {
        errors.push(FieldError::new("phone", "must be in E.164 form, such as +4915112345678"));
    }
    phone
}

fn need_an_address(email: &Option<String>, phone: &Option<String>, errors: &mut Vec<FieldError>) {
    if email.is_none() && phone.is_none() {
        errors.push(FieldError::new("email", "give an email address or a phone number"));
    }
}

/// The contact's own zone, canonical; None for the owner's.
fn clean_zone(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    raw.filter(|z| !z.trim().is_empty()).map(|z| check_timezone("timezone", &z, errors))
}

/// The contact's own quiet hours as (start, end); both None for the owner's.
fn clean_quiet_hours(raw: Option<&QuietHours>, errors: &mut Vec<FieldError>) -> (Option<NaiveTime>, Option<NaiveTime>) {
    raw.map_or((None, None), |hours| check_quiet_hours("quietHours", hours, errors))
}

fn not_found() -> ApiError {
    ApiError::not_found("Trusted contact")
}

pub async fn create(state: &AppState, owner: UserId, input: ContactInput) -> Result<ContactView, ApiError> {
    let mut errors = Vec::new();
    let name = clean_name(&input.name, &mut errors);
    let email = clean_email(input.email, &mut errors);
    let phone = clean_phone(input.phone, &mut errors);
    let relationship = text("relationship", input.relationship, RELATIONSHIP_MAX, &mut errors);
    let timezone = clean_zone(input.timezone, &mut errors);
    let (quiet_start, quiet_end) = clean_quiet_hours(input.quiet_hours.as_ref(), &mut errors);
    need_an_address(&email, &phone, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    count_invitations(state, owner, &email, &phone).await?;
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let row = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // The owner's subscription row lock serialises concurrent creates, so the limit holds at its boundary.
            let tiers = &state.config.tier_limits;
            crate::billing::limits::check(conn, tiers, owner, crate::billing::limits::Limit::TrustedContacts).await?;
            let new = NewContact {
                user_id: owner,
                name: &name,
                email: email.as_deref(),
                phone: phone.as_deref(),
                relationship: relationship.as_deref(),
                timezone: timezone.as_deref(),
                quiet_hours_start: quiet_start,
                quiet_hours_end: quiet_end,
                invited_at: now,
            };
            Ok(store::insert(conn, &new).await?)
        })
        .await?;
    invite(state, &mut conn, &row).await;
    Ok(row.into())
}

pub async fn list(state: &AppState, owner: UserId) -> Result<Vec<ContactView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(store::list_for(&mut conn, owner).await?.into_iter().map(ContactView::from).collect())
}

pub async fn get(state: &AppState, owner: UserId, id: ContactId) -> Result<ContactView, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(store::find_for(&mut conn, owner, id).await?.ok_or_else(not_found)?.into())
}

pub async fn update(
    state: &AppState,
    owner: UserId,
    id: ContactId,
    patch: ContactPatch,
) -> Result<ContactView, ApiError> {
    let mut conn = state.db.get().await?;
    let current = store::find_for(&mut conn, owner, id).await?.ok_or_else(not_found)?;
    let mut errors = Vec::new();
    let name = patch.name.as_deref().map(|n| clean_name(n, &mut errors));
    let email = patch.email.map(|e| clean_email(e, &mut errors));
    let phone = patch.phone.map(|p| clean_phone(p, &mut errors));
    let relationship = patch.relationship.map(|r| text("relationship", r, RELATIONSHIP_MAX, &mut errors));
    let timezone = patch.timezone.map(|z| clean_zone(z, &mut errors));
    let quiet_hours = patch.quiet_hours.map(|q| clean_quiet_hours(q.as_ref(), &mut errors));
    let (new_email, new_phone) =
        (email.clone().unwrap_or(current.email.clone()), phone.clone().unwrap_or(current.phone.clone()));
    need_an_address(&new_email, &new_phone, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let readdressed = new_email != current.email || new_phone != current.phone;
    if readdressed {
        count_invitations(state, owner, &new_email, &new_phone).await?;
    }
    let mut changes = ContactChanges {
        name,
        email,
        phone,
        relationship,
        timezone,
        quiet_hours_start: quiet_hours.map(|(start, _)| start),
        quiet_hours_end: quiet_hours.map(|(_, end)| end),
        ..Default::default()
    };
    if readdressed {
        // Consent was given for the old address; the new one is asked again.
        changes.consent_status = Some("pending".to_owned());
        changes.invited_at = Some(Some(state.clock.now()));
        changes.accepted_at = Some(None);
    }
    let nothing = changes.name.is_none()
        && changes.email.is_none()
        && changes.phone.is_none()
        && changes.relationship.is_none()
        && changes.timezone.is_none()
        && changes.quiet_hours_start.is_none();
    if nothing {
        return Ok(current.into());
    }
    let row = store::update(&mut conn, id, &changes).await?;
    if readdressed {
        invite(state, &mut conn, &row).await;
    }
    Ok(row.into())
}

/// Deletes the contact; its freed slot lets the oldest contact paused for the tier limit be asked again.
pub async fn delete(state: &AppState, owner: UserId, id: ContactId) -> Result<(), ApiError> {
    use crate::billing::service::{Freed, delete_freeing_a_slot};
    delete_freeing_a_slot(state, owner, Freed::TrustedContact, not_found, move |conn| {
        Box::pin(store::delete_for(conn, owner, id))
    })
    .await
}

/// Counts the invitation to each of the contact's addresses before anything is saved: past the limit the
/// request is refused (429), so a loop of address changes cannot send more.
async fn count_invitations(
    state: &AppState,
    owner: UserId,
    email: &Option<String>,
    phone: &Option<String>,
) -> Result<(), ApiError> {
    for address in [email, phone].into_iter().flatten() {
        outreach::take(state, owner, address, outreach::INVITATION).await?;
    }
    Ok(())
}

/// Whether the owner's delivery controls (and, for SMS, the budget) let an invitation out.
async fn admitted(state: &AppState, contact: &ContactRow, channel: ChannelKind) -> bool {
    match direct::admit(state, contact.user_id, channel).await {
        Ok(Admission::Admitted) => true,
        Ok(Admission::Suppressed(reason)) => {
            tracing::info!(contact.id = %contact.id, reason, "a trusted contact's invitation was held back");
            false
        }
        Err(err) => {
            tracing::warn!(contact.id = %contact.id, error = ?err, "could not check the delivery controls");
            false
        }
    }
}

/// Sends the invitation with its accept and opt-out links, by SMS and by email as the contact has them.
/// Everything in it is ours but the owner's name, cleaned and quoted as a name (the contact's name, also
/// the owner's words, is not repeated to them).
async fn invite(state: &AppState, conn: &mut AsyncPgConnection, contact: &ContactRow) {
    let owner = match crate::accounts::users::store::find_live(conn, contact.user_id).await {
        Ok(Some(owner)) => super::inviter::name(&owner.display_name),
        _ => "Someone".to_owned(),
    };
    // Only a texted invitation can be accepted by a YES from that number, so the text is recorded.
    if let Some(phone) = &contact.phone
        && !opted_out(conn, phone).await
        && admitted(state, contact, ChannelKind::Sms).await
    {
        if !invite_by_sms(state, contact, phone, &owner).await {
            direct::refund(state, contact.user_id, ChannelKind::Sms).await;
        } else if let Err(err) = store::mark_invitation_texted(conn, contact.id, state.clock.now()).await {
            tracing::warn!(contact.id = %contact.id, error = %err, "a texted invitation could not be recorded");
        }
    }
    let Some(address) = &contact.email else { return };
    if !admitted(state, contact, ChannelKind::Email).await {
        return;
    }
    let notice = Notice {
        subject: format!("\"{owner}\" asks you to be a trusted contact"),
        text: format!(
            "Hello,\r\n\r\nAn Escalating Reminders user who gives their name as \"{owner}\" would like you as a \
             trusted contact: when one of their reminders goes unanswered for a while, you may get a short message \
             with its title and how long it has waited, so you can check on them.\r\n\r\nAccept or decline: \
             {accept}\r\n\r\nYou can stop these messages at any time: {opt_out}\r\n",
            accept = consent::invitation_link(state, contact),
            opt_out = consent::opt_out_link(state, contact.id),
        ),
    };
    if let Err(err) = notice::email_to(state, address, notice).await {
        tracing::warn!(contact.id = %contact.id, error = %err, "the invitation of a trusted contact could not be sent");
    }
}

/// The invitation as a text: a YES reply accepts it (see the SMS webhook), STOP opts the number out. Returns
/// whether Twilio took the text.
async fn invite_by_sms(state: &AppState, contact: &ContactRow, phone: &str, owner: &str) -> bool {
    let body = crate::agents::sms::segments::fit(
        "",
        &format!("\"{owner}\" asks you to be a trusted contact on Escalating Reminders"),
        &format!(
            ": you may get a short text when one of their reminders goes unanswered. Reply YES to accept, STOP to \
             opt out. Details: {}",
            consent::invitation_link(state, contact)
        ),
    );
    let sms = match crate::agents::sms::TwilioSms::new(
        &state.config,
        crate::notifications::links::LinkSigner::new(&state.config),
    ) {
        Ok(sms) => sms,
        Err(err) => {
            tracing::warn!(contact.id = %contact.id, error = %err, "no SMS client for a trusted contact's invitation");
            return false;
        }
    };
    match sms.text(phone, &body, None).await {
        crate::agents::Outcome::Sent { .. } => true,
        outcome => {
            tracing::warn!(contact.id = %contact.id, ?outcome, "a trusted contact's invitation text was not sent");
            false
        }
    }
}

/// A number that replied STOP gets no invitation either (a failed look-up counts as opted out).
async fn opted_out(conn: &mut AsyncPgConnection, phone: &str) -> bool {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    use crate::db::schema::sms_opt_outs;
    let found = sms_opt_outs::table.filter(sms_opt_outs::phone.eq(phone)).count().get_result::<i64>(conn).await;
    found.map_or(true, |n| n > 0)
}
