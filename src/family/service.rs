//! Family rules: who may invite (the tier's `familyMembers`), how an invitation is accepted (by the account
//! of the invited address, once, within a week, one family per person), what ends a membership (leaving or
//! removal, with every share in the same transaction) and which reminders are shared with whom.

use chrono::TimeDelta;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::{ReminderId, UserId};
use uuid::Uuid;

use super::model::{FamilyView, InviteInput, MemberView, MembershipView, ShareView, SharedReminderView, SharesInput};
use super::store;
use crate::accounts::auth::tokens;
use crate::accounts::users::notice::{self, Notice};
use crate::accounts::users::{service as users_service, store as users_store};
use crate::http::{ApiError, FieldError};
use crate::state::AppState;

/// How long an invitation works.
pub const INVITATION_LIFETIME: TimeDelta = TimeDelta::days(7);
/// Where the mailed link opens: a console page that accepts with one press.
pub const JOIN_PATH: &str = "/family/join";
/// Most members one reminder may be shared with in one request.
const MAX_SHARES: usize = 50;

async fn limit(conn: &mut AsyncPgConnection, state: &AppState, owner: UserId) -> Result<u32, ApiError> {
    let tier = users_store::tier_of(conn, owner).await?;
    Ok(state.config.tier_limits.named(&tier).family_members)
}

fn member_view(row: store::GroupRow) -> MemberView {
    let invited = row.status == "invited";
    MemberView {
        id: row.id,
        email: row.email,
        status: row.status,
        member_id: row.member_id,
        display_name: row.display_name,
        invited_at: row.invited_at,
        expires_at: invited.then_some(row.expires_at),
        joined_at: row.joined_at,
    }
}

pub async fn view(state: &AppState, caller: UserId) -> Result<FamilyView, ApiError> {
    let mut conn = state.db.get().await?;
    let limit = limit(&mut conn, state, caller).await?;
    let members =
        store::group(&mut conn, caller, state.clock.now(), None).await?.into_iter().map(member_view).collect();
    let member_of =
        store::membership_of(&mut conn, caller).await?.map(|(owner_id, owner_name, owner_email, joined_at)| {
            MembershipView { owner_id, owner_name, owner_email, joined_at }
        });
    Ok(FamilyView { limit, members, member_of })
}

/// A member of the owner's family, for pickers.
#[derive(Debug, Clone)]
pub struct ActiveMember {
    pub member_id: UserId,
    pub display_name: String,
    pub email: String,
}

pub async fn active_members(state: &AppState, owner: UserId) -> Result<Vec<ActiveMember>, ApiError> {
    let mut conn = state.db.get().await?;
    let rows = store::group(&mut conn, owner, state.clock.now(), None).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(ActiveMember {
                member_id: row.member_id?,
                display_name: row.display_name.unwrap_or_default(),
                email: row.email,
            })
        })
        .collect())
}

/// Invites an address into the owner's family and mails the link (after the commit).
pub async fn invite(state: &AppState, owner: UserId, input: InviteInput) -> Result<MemberView, ApiError> {
    let mut errors = Vec::new();
    let email = users_service::normalise_email(&input.email, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.clock.now();
    let token = tokens::random_token("erfm_");
    let mut conn = state.db.get().await?;
    let (owner_row, id) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let owner_row = users_store::find_live(conn, owner).await?.ok_or_else(|| ApiError::not_found("User"))?;
            if owner_row.email == email {
                return Err(ApiError::field("email", "is your own address"));
            }
            let limit = limit(conn, state, owner).await?;
            if limit == 0 {
                return Err(ApiError::forbidden("Your plan does not include family sharing; the FAMILY plan does."));
            }
            // Counted under the owner's row lock: two invitations at once cannot both take the last place.
            users_store::lock(conn, owner).await?;
            if store::places_taken_by_others(conn, owner, &email, now).await? >= i64::from(limit) {
                return Err(ApiError::forbidden(format!(
                    "Your plan allows {limit} family members; remove one or an open invitation first."
                )));
            }
            let id = store::invite(conn, owner, &email, &tokens::hash_token(&token), (now, now + INVITATION_LIFETIME))
                .await?
                .ok_or_else(|| ApiError::conflict("This address is already in your family."))?;
            Ok((owner_row, id))
        })
        .await?;
    let link = format!("{}{JOIN_PATH}/{token}", state.config.api_url.as_str().trim_end_matches('/'));
    let text = format!(
        "Hello,\n\n{} ({}) invites you to their family on Escalating Reminders: they can share reminders with \
         you, and you can acknowledge or complete them.\n\nAccept with the account of this address:\n{link}\n\n\
         The link works for {} days. If you do not want this, ignore this message.\n",
        owner_row.display_name,
        owner_row.email,
        INVITATION_LIFETIME.num_days()
    );
    let notice = Notice { subject: format!("{} invites you to their family", owner_row.display_name), text };
    if let Err(err) = notice::email_to(state, &email, notice).await {
        tracing::warn!(error = %err, family.invitation = %id, "family invitation not mailed");
    }
    let row = store::group(&mut conn, owner, now, Some(id)).await?.pop();
    row.map(member_view).ok_or_else(|| ApiError::not_found("Invitation"))
}

/// Accepts an invitation with the account of its address.
pub async fn accept(state: &AppState, user: UserId, token: &str) -> Result<MembershipView, ApiError> {
    let dead = || ApiError::unprocessable("This invitation is unknown, used, withdrawn or expired.");
    if token.is_empty() || token.len() > 100 {
        return Err(dead());
    }
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let owner = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let invitation = store::lock_invitation(conn, &tokens::hash_token(token)).await?.ok_or_else(dead)?;
            if invitation.expires_at <= now {
                return Err(dead());
            }
            let me = users_store::find_live(conn, user).await?.ok_or_else(|| ApiError::not_found("User"))?;
            if me.email != invitation.email {
                return Err(ApiError::forbidden(
                    "This invitation is for another address: sign in with the account of the address it was sent to.",
                ));
            }
            if invitation.owner_id == user {
                return Err(ApiError::conflict("You cannot join your own family."));
            }
            if store::membership_of(conn, user).await?.is_some() {
                return Err(ApiError::conflict("You are already in a family; leave it first."));
            }
            store::join(conn, invitation.id, user, now).await?;
            Ok(invitation.owner_id)
        })
        .await?;
    tracing::info!(user.id = %user, family.owner = %owner, "joined a family");
    let (owner_id, owner_name, owner_email, joined_at) =
        store::membership_of(&mut conn, user).await?.ok_or_else(|| ApiError::not_found("Family"))?;
    Ok(MembershipView { owner_id, owner_name, owner_email, joined_at })
}

/// The owner withdraws an invitation or removes a member; the member's shares end with it.
pub async fn remove(state: &AppState, owner: UserId, id: Uuid) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let removed = store::remove(conn, owner, id).await?.ok_or_else(|| ApiError::not_found("Family member"))?;
        if let Some(member) = removed {
            store::unshare_all(conn, owner, member).await?;
        }
        Ok(())
    })
    .await
}

/// A member leaves their family; every share with them ends.
pub async fn leave(state: &AppState, member: UserId) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let owner = store::leave(conn, member).await?.ok_or_else(|| ApiError::not_found("Family"))?;
        store::unshare_all(conn, owner, member).await?;
        Ok(())
    })
    .await
}

pub async fn shares(state: &AppState, owner: UserId, reminder: ReminderId) -> Result<Vec<ShareView>, ApiError> {
    let mut conn = state.db.get().await?;
    if !store::is_own_reminder(&mut conn, owner, reminder).await? {
        return Err(ApiError::not_found("Reminder"));
    }
    Ok(store::shares_of(&mut conn, reminder).await?)
}

/// Shares the owner's reminder with exactly `input.member_ids`, each an active member of the owner's family.
pub async fn set_shares(
    state: &AppState,
    owner: UserId,
    reminder: ReminderId,
    input: SharesInput,
) -> Result<Vec<ShareView>, ApiError> {
    if input.member_ids.len() > MAX_SHARES {
        return Err(ApiError::field("memberIds", format!("at most {MAX_SHARES} members")));
    }
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if !store::lock_own_reminder(conn, owner, reminder).await? {
            return Err(ApiError::not_found("Reminder"));
        }
        let members = store::active_member_ids(conn, owner).await?;
        let mut errors = Vec::new();
        let mut chosen: Vec<UserId> = Vec::new();
        for (position, id) in input.member_ids.iter().enumerate() {
            match members.iter().find(|member| member.uuid() == *id) {
                Some(member) if !chosen.contains(member) => chosen.push(*member),
                Some(_) => {}
                None => {
                    errors.push(FieldError::new(format!("memberIds[{position}]"), "not a member of your family group"))
                }
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        store::set_shares(conn, owner, reminder, &chosen).await?;
        Ok(store::shares_of(conn, reminder).await?)
    })
    .await
}

pub async fn shared_reminders(state: &AppState, member: UserId) -> Result<Vec<SharedReminderView>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(store::shared_with(&mut conn, member, None).await?)
}

/// One reminder shared with `member`, on the connection of the caller's transaction.
pub async fn shared_reminder_on(
    conn: &mut AsyncPgConnection,
    member: UserId,
    reminder: ReminderId,
) -> Result<SharedReminderView, ApiError> {
    store::shared_with(conn, member, Some(reminder)).await?.pop().ok_or_else(|| ApiError::not_found("Reminder"))
}
