//! Admin roles and the one table that says which role may do what. Every admin handler asks
//! `AdminUser::require(Permission)`; nothing else decides.

use serde::{Deserialize, Serialize};

/// The role of an `admin_users` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    SuperAdmin,
    Support,
    Billing,
    Readonly,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::SuperAdmin, Role::Support, Role::Billing, Role::Readonly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "SUPER_ADMIN",
            Role::Support => "SUPPORT",
            Role::Billing => "BILLING",
            Role::Readonly => "READONLY",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str().eq_ignore_ascii_case(text))
    }
}

/// Something an admin route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Dashboard numbers, system health now and past.
    ViewSystem,
    /// User search, a user's detail and support notes.
    ViewUsers,
    /// The log of admin actions.
    ViewAudit,
    /// Add, edit, pin and delete support notes.
    WriteSupportNotes,
    /// Suspend, unsuspend, disable or enable a user's deliveries.
    SetDeliveryState,
    /// Grant a tier regardless of what the user pays for.
    OverrideSubscription,
    /// Promote a user to admin, change an admin's role, revoke it.
    ManageAdmins,
    /// Delete a user's account (as the user can themselves).
    DeleteUsers,
    /// Change the operator knobs kept in the database (`/v1/admin/settings`).
    ChangeSettings,
    /// Approve, reject or suspend a marketplace agent type.
    ReviewAgents,
}

use Permission::*;

/// Role × permission. Reading is open to every admin; each write belongs to the roles whose job it is.
const TABLE: &[(Role, &[Permission])] = &[
    (
        Role::SuperAdmin,
        &[
            ViewSystem,
            ViewUsers,
            ViewAudit,
            WriteSupportNotes,
            SetDeliveryState,
            OverrideSubscription,
            ManageAdmins,
            DeleteUsers,
            ChangeSettings,
            ReviewAgents,
        ],
    ),
    (Role::Support, &[ViewSystem, ViewUsers, ViewAudit, WriteSupportNotes, SetDeliveryState]),
    (Role::Billing, &[ViewSystem, ViewUsers, ViewAudit, WriteSupportNotes, OverrideSubscription]),
    (Role::Readonly, &[ViewSystem, ViewUsers, ViewAudit]),
];

/// Whether `role` may do `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    TABLE.iter().any(|(r, permissions)| *r == role && permissions.contains(&permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITES: [Permission; 7] = [
        WriteSupportNotes,
        SetDeliveryState,
        OverrideSubscription,
        ManageAdmins,
        DeleteUsers,
        ChangeSettings,
        ReviewAgents,
    ];

    #[test]
    fn readonly_may_read_everything_and_write_nothing() {
        for permission in [ViewSystem, ViewUsers, ViewAudit] {
            assert!(allows(Role::Readonly, permission));
        }
        for permission in WRITES {
            assert!(!allows(Role::Readonly, permission), "{permission:?}");
        }
    }

    #[test]
    fn only_billing_and_super_admin_override_subscriptions() {
        let allowed: Vec<Role> = Role::ALL.into_iter().filter(|r| allows(*r, OverrideSubscription)).collect();
        assert_eq!(allowed, [Role::SuperAdmin, Role::Billing]);
        let delivery: Vec<Role> = Role::ALL.into_iter().filter(|r| allows(*r, SetDeliveryState)).collect();
        assert_eq!(delivery, [Role::SuperAdmin, Role::Support]);
        for power in [ManageAdmins, DeleteUsers, ChangeSettings] {
            let allowed: Vec<Role> = Role::ALL.into_iter().filter(|r| allows(*r, power)).collect();
            assert_eq!(allowed, [Role::SuperAdmin], "{power:?}");
        }
    }

    #[test]
    fn every_role_has_a_row_and_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(TABLE.iter().filter(|(r, _)| *r == role).count(), 1, "{role:?}");
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(Role::parse(&role.as_str().to_lowercase()), Some(role));
        }
        assert_eq!(Role::parse("ROOT"), None);
    }
}
