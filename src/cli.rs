//! Command-line definition: `--role` and the maintenance subcommands.

use std::collections::BTreeSet;

use clap::{Args, Parser, Subcommand};

use crate::config::variables_help;
pub use crate::config::{Role, Roles};

/// Parses `--role`. Unknown names are a usage error (exit code 2) naming the flag.
pub fn parse_roles(text: &str) -> Result<Roles, String> {
    let mut roles = BTreeSet::new();
    for part in text.split(',').map(str::trim) {
        match part {
            "all" => roles.extend(Roles::all().0),
            "api" => {
                roles.insert(Role::Api);
            }
            "worker" => {
                roles.insert(Role::Worker);
            }
            "scheduler" => {
                roles.insert(Role::Scheduler);
            }
            other => {
                return Err(format!("unknown role {other:?}; expected api, worker, scheduler, all or a comma list"));
            }
        }
    }
    if roles.is_empty() {
        return Err("no role given".to_owned());
    }
    Ok(Roles(roles))
}

#[derive(Debug, Parser)]
#[command(name = "escalating-reminders", version, about = "Reminders that cannot be ignored.", after_long_help = variables_help())]
pub struct Cli {
    /// Which loops to run: api, worker, scheduler, all, or a comma list such as `api,worker`.
    #[arg(long, env = "ROLE", default_value = "all", value_parser = parse_roles, global = true)]
    pub role: Roles,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations and exit.
    Migrate,
    /// Validate the environment and exit (0 when it is good, 2 naming the bad variable).
    CheckConfig,
    /// Administrator accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin user. The password is read from stdin, or generated and printed once. An existing
    /// account with the address is refused unless --promote-existing is given.
    Create(AdminCreate),
}

#[derive(Debug, Args)]
pub struct AdminCreate {
    /// The admin's email address (login name).
    #[arg(long)]
    pub email: String,
    /// SUPER_ADMIN, SUPPORT, BILLING or READONLY.
    #[arg(long = "admin-role", default_value = "SUPER_ADMIN")]
    pub admin_role: String,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    /// Take over an account that already has this email (anyone may have registered it): its password is
    /// replaced by this command's, and all its sessions and API keys are revoked.
    #[arg(long)]
    pub promote_existing: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn roles_parse_lists_and_reject_unknown_names() {
        assert_eq!(parse_roles("all").unwrap(), Roles::all());
        let pair = parse_roles("api, worker").unwrap();
        assert!(pair.contains(Role::Api) && pair.contains(Role::Worker) && !pair.contains(Role::Scheduler));
        assert_eq!(pair.label(), "api,worker");
        assert!(parse_roles("api,cron").unwrap_err().contains("cron"));
        assert!(parse_roles("").is_err());
    }

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from(["x", "--role", "scheduler", "admin", "create", "--email", "a@b.c"]).unwrap();
        assert_eq!(cli.role.label(), "scheduler");
        assert!(
            matches!(cli.command, Some(Command::Admin(AdminCommand::Create(ref c))) if c.email == "a@b.c" && !c.promote_existing)
        );
        let cli = Cli::try_parse_from(["x", "admin", "create", "--email", "a@b.c", "--promote-existing"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Admin(AdminCommand::Create(ref c))) if c.promote_existing));
    }
}
