//! Which loops a process runs (`--role`): part of its configuration, which every role's state carries.

use std::collections::BTreeSet;

/// A set of loops this process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Api,
    Worker,
    Scheduler,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Worker => "worker",
            Role::Scheduler => "scheduler",
        }
    }
}

/// The roles a process runs, parsed from `api|worker|scheduler|all` or a comma list of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles(pub BTreeSet<Role>);

impl Roles {
    pub fn all() -> Self {
        Roles([Role::Api, Role::Worker, Role::Scheduler].into_iter().collect())
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// `api,worker` style label for logs and `/health`.
    pub fn label(&self) -> String {
        if *self == Self::all() {
            return "all".to_owned();
        }
        self.0.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    }
}
