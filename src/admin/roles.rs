//! Who is an admin, with which role, and an admin's deletion of a user account. Every change is written with
//! its `admin_actions` row in one transaction, behind the lock on every admin row, so there is always at least
//! one SUPER_ADMIN: the last one can be neither demoted nor revoked, and an admin's account is not deleted
//! while they hold a role.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use reminder_core::ids::UserId;
use serde_json::json;

use super::extractor::AdminUser;
use super::model::{AdminEntry, Reasoned, RoleChange};
use super::permissions::Role;
use super::service::{checked_reason, log};
use super::store;
use crate::http::ApiError;
use crate::state::AppState;

/// Every admin whose role is in force.
pub async fn list(state: &AppState) -> Result<Vec<AdminEntry>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(store::admins(&mut conn).await?)
}

/// 409 when taking `user`'s SUPER_ADMIN role (they hold it now) would leave none.
fn keep_one_super_admin(supers: &[UserId], user: UserId, now: Option<Role>) -> Result<(), ApiError> {
    if now == Some(Role::SuperAdmin) && supers.iter().all(|s| *s == user) {
        return Err(ApiError::conflict("This is the last SUPER_ADMIN; make another admin SUPER_ADMIN first."));
    }
    Ok(())
}

/// The user's account, live: 404 when there is none, 409 when it was deleted.
async fn live_account(conn: &mut AsyncPgConnection, user: UserId) -> Result<(), ApiError> {
    let (.., deleted_at) = store::account(conn, user).await?.ok_or_else(|| ApiError::not_found("User"))?;
    match deleted_at {
        Some(_) => Err(ApiError::conflict("The account is deleted.")),
        None => Ok(()),
    }
}

/// Makes `user` an admin with the role asked for, or gives an admin another role.
pub async fn set(
    state: &AppState,
    admin: &AdminUser,
    user: UserId,
    change: RoleChange,
) -> Result<AdminEntry, ApiError> {
    let reason = checked_reason(&change.reason)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        live_account(conn, user).await?;
        let supers = store::lock_super_admins(conn).await?;
        let before = store::admin_role(conn, user).await?.map(|(_, role)| role);
        if change.role != Role::SuperAdmin {
            keep_one_super_admin(&supers, user, before)?;
        }
        store::grant_role(conn, user, change.role).await?;
        let action = if before.is_some() { "admin.change_role" } else { "admin.grant" };
        let changes = json!({"before": {"role": before}, "after": {"role": change.role}});
        log(conn, admin, action, user, &reason, changes).await?;
        let entry = store::admins(conn).await?.into_iter().find(|a| a.user_id == user);
        entry.ok_or_else(|| ApiError::internal(anyhow::anyhow!("the admin row just written is missing")))
    })
    .await
}

/// Ends `user`'s admin role (404 when they have none).
pub async fn revoke(state: &AppState, admin: &AdminUser, user: UserId, body: Reasoned) -> Result<(), ApiError> {
    let reason = checked_reason(&body.reason)?;
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let supers = store::lock_super_admins(conn).await?;
        let before = store::admin_role(conn, user).await?.map(|(_, role)| role);
        let Some(role) = before else { return Err(ApiError::not_found("Admin")) };
        keep_one_super_admin(&supers, user, before)?;
        store::revoke_role(conn, user, now).await?;
        log(conn, admin, "admin.revoke", user, &reason, json!({"before": {"role": role}, "after": {"role": null}}))
            .await
    })
    .await
}

/// Deletes a user's account as the user could themselves (sessions and API keys revoked with it). An admin's
/// account keeps its role until the role is revoked: 409 until then.
pub async fn delete_user(state: &AppState, admin: &AdminUser, user: UserId, body: Reasoned) -> Result<(), ApiError> {
    let reason = checked_reason(&body.reason)?;
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        live_account(conn, user).await?;
        // Taken only to wait for a role change in flight: one granting this user a role must not pass unseen.
        store::lock_super_admins(conn).await?;
        if let Some((_, role)) = store::admin_role(conn, user).await? {
            return Err(ApiError::conflict(format!(
                "The account holds the admin role {}; revoke it first.",
                role.as_str()
            )));
        }
        crate::accounts::users::service::delete_account(conn, user, now).await?;
        log(
            conn,
            admin,
            "user.delete",
            user,
            &reason,
            json!({"before": {"deletedAt": null}, "after": {"deletedAt": now}}),
        )
        .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_super_admin_keeps_the_role() {
        let (a, b) = (UserId::from(uuid::Uuid::new_v4()), UserId::from(uuid::Uuid::new_v4()));
        assert!(keep_one_super_admin(&[a], a, Some(Role::SuperAdmin)).is_err());
        assert!(keep_one_super_admin(&[a, b], a, Some(Role::SuperAdmin)).is_ok());
        assert!(keep_one_super_admin(&[a], b, Some(Role::Support)).is_ok(), "b is not a SUPER_ADMIN");
        assert!(keep_one_super_admin(&[a], b, None).is_ok());
    }
}
