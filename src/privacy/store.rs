//! Which tables hold a person's rows, and the one read that gathers them.
//!
//! This module only reads: each table keeps its own writer. The read is one statement (one snapshot), built
//! once from [`OWNED`].

use std::sync::LazyLock;

use diesel::sql_types::{Jsonb, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;

use crate::db::Prepare;

/// How a table's rows are tied to the person they belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tie {
    /// The `users` row itself.
    Account,
    /// A column holding the user id.
    Column(&'static str),
    /// `reminder_id`, a reminder of theirs.
    Reminder,
    /// `session_id`, a refresh session of theirs.
    Session,
}

/// A table with rows of one person.
#[derive(Clone, Copy, Debug)]
pub struct Owned {
    pub table: &'static str,
    pub tie: Tie,
}

const fn by_user(table: &'static str) -> Owned {
    Owned { table, tie: Tie::Column("user_id") }
}

/// Every table that holds rows of one person, in the export's order.
pub const OWNED: &[Owned] = &[
    Owned { table: "users", tie: Tie::Account },
    by_user("user_profiles"),
    by_user("subscriptions"),
    by_user("usage_windows"),
    by_user("delivery_window_usage"),
    by_user("payment_history"),
    by_user("subscription_events"),
    by_user("square_checkouts"),
    by_user("api_keys"),
    by_user("user_identities"),
    by_user("refresh_sessions"),
    Owned { table: "refresh_tokens", tie: Tie::Session },
    by_user("console_sessions"),
    by_user("password_resets"),
    by_user("email_verifications"),
    by_user("onboarding_progress"),
    by_user("event_logs"),
    Owned { table: "audit_trails", tie: Tie::Column("actor_user_id") },
    by_user("outreach_sends"),
    by_user("escalation_profiles"),
    by_user("reminders"),
    Owned { table: "reminder_schedules", tie: Tie::Reminder },
    Owned { table: "reminder_snoozes", tie: Tie::Reminder },
    Owned { table: "completion_criteria", tie: Tie::Reminder },
    by_user("escalations"),
    by_user("deliveries"),
    by_user("pending_notifications"),
    by_user("trusted_contacts"),
    Owned { table: "family_members", tie: Tie::Column("owner_id") },
    Owned { table: "reminder_shares", tie: Tie::Column("owner_id") },
    Owned { table: "marketplace_agents", tie: Tie::Column("developer_id") },
    by_user("user_agent_subscriptions"),
    by_user("completion_hooks"),
    by_user("watchers"),
    by_user("watcher_events"),
    by_user("watch_addresses"),
    by_user("calendars"),
    by_user("calendar_events"),
    by_user("calendar_rules"),
];

/// Every other table, and why a person's export leaves it out.
pub const NOT_EXPORTED: &[(&str, &str)] = &[
    ("agent_commands", "the ids of commands a marketplace agent sent, kept to answer a repeat the same way"),
    ("idempotency_keys", "stored answers to retried requests, kept for a day; what they created is exported"),
    ("action_link_uses", "a used action link's token id and outcome, with no owner; pruned by retention"),
    ("admin_actions", "the operators' own log; the link to the account is cleared when it is erased"),
    ("admin_users", "operator roles, not a customer's data"),
    ("support_notes", "the operators' notes; erased with the account"),
    ("processed_webhook_events", "provider event ids seen, with no owner"),
    ("sms_opt_outs", "numbers that answered STOP: a carrier-compliance list kept without an owner"),
    ("agent_definitions", "the channel catalogue"),
    ("scheduler_leases", "the scheduler's leadership lease"),
    ("scheduler_candidates", "the running scheduler processes, for sharing out the shards"),
    ("system_health_snapshots", "service-wide health figures"),
    ("oidc_flows", "sign-ins under way for ten minutes, before any account is known"),
    ("system_settings", "the operators' knobs, with no owner"),
    ("__diesel_schema_migrations", "which migrations ran"),
];

impl Owned {
    /// The condition on `t` that picks this person's rows (`$1` is their id).
    fn condition(&self) -> String {
        match self.tie {
            Tie::Account => "t.id = $1".to_owned(),
            Tie::Column(column) => format!("t.{column} = $1"),
            Tie::Reminder => "t.reminder_id IN (SELECT id FROM reminders WHERE user_id = $1)".to_owned(),
            Tie::Session => "t.session_id IN (SELECT id FROM refresh_sessions WHERE user_id = $1)".to_owned(),
        }
    }
}

/// Columns never exported, whatever the table: credentials and secrets are stored as bytes (hashes,
/// ciphertexts, stored replies), and the password hash as text.
const HIDDEN_COLUMNS: &str = "SELECT array_agg(column_name::text) FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = '{table}'
      AND (data_type = 'bytea' OR column_name LIKE '%password%')";

/// One statement that builds the whole document: `{table: [row, …], …}`.
static EXPORT: LazyLock<String> = LazyLock::new(|| {
    let tables: Vec<String> = OWNED
        .iter()
        .map(|owned| {
            let hidden = HIDDEN_COLUMNS.replace("{table}", owned.table);
            format!(
                "'{table}', (SELECT COALESCE(jsonb_agg(to_jsonb(t) - COALESCE(({hidden}), '{{}}'::text[])), '[]'::jsonb)
                             FROM {table} t WHERE {condition})",
                table = owned.table,
                condition = owned.condition(),
            )
        })
        .collect();
    format!("SELECT jsonb_build_object({}) AS tables", tables.join(",\n"))
});

#[derive(diesel::QueryableByName)]
struct Tables {
    #[diesel(sql_type = Jsonb)]
    tables: serde_json::Value,
}

/// Every row `user` owns, table by table, read in one snapshot.
pub async fn rows_of(conn: &mut AsyncPgConnection, user: UserId) -> diesel::QueryResult<serde_json::Value> {
    let found: Tables =
        diesel::sql_query(EXPORT.as_str()).bind::<SqlUuid, _>(user.uuid()).prepared().get_result(conn).await?;
    Ok(found.tables)
}
