//! Email watcher rules: a sender pattern and/or a subject or body keyword, the reminder they act on and
//! the action. Stored per user; every query is scoped to the owner. A rule reads mail forwarded to the
//! user's watcher address (`kind` `email`) or, with `provider: IMAP`, their own mailbox ([`super::imap`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ReminderId, UserId};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::imap::input::{self as mailbox, MailboxFields, MailboxView, NewMailbox, Provider};
use crate::db::schema::watchers;
use crate::http::{ApiError, FieldError};

const PATTERN_MAX: usize = 200;
/// Rules per user, so evaluation stays cheap.
pub const MAX_RULES: i64 = 100;
pub const ACTIONS: [&str; 2] = ["complete", "acknowledge"];

/// A `watchers` row (the rule; an IMAP watcher's mailbox columns are [`super::imap::store::MailboxRow`]).
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = watchers)]
pub struct WatcherRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub reminder_id: ReminderId,
    /// `email` (the watcher address) or `imap` (the user's own mailbox).
    pub kind: String,
    pub sender_pattern: Option<String>,
    pub subject_keyword: Option<String>,
    pub body_keyword: Option<String>,
    pub action: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/watchers`: at least one of the three conditions; every given one must hold. With
/// `provider: IMAP` the mail is read from the mailbox given by `host` … `tls`; those fields are refused
/// otherwise.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WatcherInput {
    pub reminder_id: Uuid,
    /// The sender's address, case-insensitive; `*` matches any run of characters (`*@bank.example`).
    pub sender_pattern: Option<String>,
    /// Found anywhere in the subject, case-insensitive.
    pub subject_keyword: Option<String>,
    /// Found anywhere in the body text, case-insensitive.
    pub body_keyword: Option<String>,
    /// `complete` (default) or `acknowledge`.
    pub action: Option<String>,
    /// `EMAIL` (default): mail forwarded to `inboundAddress`. `IMAP`: mail in your own mailbox, read every
    /// few minutes with an app password (PERSONAL and above).
    pub provider: Option<Provider>,
    /// IMAP: the server's host name or IP address.
    pub host: Option<String>,
    /// IMAP: the server's port (default 993).
    pub port: Option<u32>,
    /// IMAP: the user name to log in with.
    pub user: Option<String>,
    /// IMAP: an app password for this mailbox (not your main password). Stored encrypted, never shown.
    #[schema(value_type = Option<String>, format = Password)]
    pub app_password: Option<SecretString>,
    /// IMAP: the folder to watch (default `INBOX`). It is only read; nothing is marked as seen.
    pub folder: Option<String>,
    /// IMAP: implicit TLS (default true). `false` only where the server allows private addresses (tests).
    pub tls: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WatcherView {
    pub id: Uuid,
    #[schema(value_type = uuid::Uuid)]
    pub reminder_id: ReminderId,
    pub provider: Provider,
    pub sender_pattern: Option<String>,
    pub subject_keyword: Option<String>,
    pub body_keyword: Option<String>,
    pub action: String,
    pub enabled: bool,
    /// EMAIL watchers only (IMAP ones read their mailbox): forward matching mail to this address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound_address: Option<String>,
    /// IMAP watchers: the mailbox and how its last polls went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxView>,
    pub created_at: DateTime<Utc>,
}

impl WatcherView {
    /// The view of an EMAIL watcher (`inbound_address`) or an IMAP one (`mailbox`).
    pub fn new(row: WatcherRow, inbound_address: Option<String>, mailbox: Option<MailboxView>) -> Self {
        WatcherView {
            id: row.id,
            reminder_id: row.reminder_id,
            provider: Provider::from_kind(&row.kind),
            sender_pattern: row.sender_pattern,
            subject_keyword: row.subject_keyword,
            body_keyword: row.body_keyword,
            action: row.action,
            enabled: row.enabled,
            inbound_address,
            mailbox,
            created_at: row.created_at,
        }
    }
}

fn clean(field: &str, raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let text = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > PATTERN_MAX || t.chars().any(char::is_control)) {
        errors.push(FieldError::new(field, format!("must be at most {PATTERN_MAX} characters")));
    }
    text
}

/// A valid input: the rule, and the mailbox of an IMAP watcher.
#[derive(Debug)]
pub struct ValidRule {
    pub reminder: ReminderId,
    pub conditions: [Option<String>; 3],
    pub action: String,
    pub mailbox: Option<NewMailbox>,
}

/// The values to insert for a valid input, or every bad field. `allow_private` is `WEBHOOK_ALLOW_PRIVATE`
/// (an IMAP mailbox without TLS, or at a private address).
pub fn validate(input: WatcherInput, allow_private: bool) -> Result<ValidRule, ApiError> {
    let mut errors = Vec::new();
    let fields = MailboxFields {
        host: input.host,
        port: input.port,
        user: input.user,
        app_password: input.app_password,
        folder: input.folder,
        tls: input.tls,
    };
    let provider = input.provider.unwrap_or_default();
    let mailbox = mailbox::validate(provider, fields, allow_private, &mut errors);
    let sender = clean("senderPattern", input.sender_pattern, &mut errors);
    let subject = clean("subjectKeyword", input.subject_keyword, &mut errors);
    let body = clean("bodyKeyword", input.body_keyword, &mut errors);
    if sender.is_none() && subject.is_none() && body.is_none() {
        errors.push(FieldError::new("senderPattern", "give a sender pattern, a subject keyword or a body keyword"));
    }
    let action = input.action.unwrap_or_else(|| "complete".to_owned());
    if !ACTIONS.contains(&action.as_str()) {
        errors.push(FieldError::new("action", format!("must be one of {}", ACTIONS.join(", "))));
    }
    if errors.is_empty() {
        Ok(ValidRule { reminder: ReminderId(input.reminder_id), conditions: [sender, subject, body], action, mailbox })
    } else {
        Err(ApiError::validation(errors))
    }
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    reminder: ReminderId,
    [sender, subject, body]: [Option<String>; 3],
    action: &str,
) -> QueryResult<WatcherRow> {
    diesel::insert_into(watchers::table)
        .values((
            watchers::user_id.eq(owner),
            watchers::reminder_id.eq(reminder),
            watchers::sender_pattern.eq(sender),
            watchers::subject_keyword.eq(subject),
            watchers::body_keyword.eq(body),
            watchers::action.eq(action),
        ))
        .returning(WatcherRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn count_for(conn: &mut AsyncPgConnection, owner: UserId) -> QueryResult<i64> {
    watchers::table.filter(watchers::user_id.eq(owner)).count().get_result(conn).await
}

/// The owner's rules, newest first; only enabled ones of `provider` when given (inbound mail is matched only
/// against EMAIL watchers: an IMAP watcher reads its own mailbox).
pub async fn list_for(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    enabled_of: Option<Provider>,
) -> QueryResult<Vec<WatcherRow>> {
    let mut query = watchers::table.filter(watchers::user_id.eq(owner)).into_boxed();
    if let Some(provider) = enabled_of {
        query = query.filter(watchers::enabled.eq(true)).filter(watchers::kind.eq(provider.kind()));
    }
    query.order(watchers::created_at.desc()).select(WatcherRow::as_select()).load(conn).await
}

pub async fn find_for(conn: &mut AsyncPgConnection, owner: UserId, id: Uuid) -> QueryResult<Option<WatcherRow>> {
    watchers::table
        .find(id)
        .filter(watchers::user_id.eq(owner))
        .select(WatcherRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn delete_for(conn: &mut AsyncPgConnection, owner: UserId, id: Uuid) -> QueryResult<usize> {
    diesel::delete(watchers::table.find(id).filter(watchers::user_id.eq(owner))).execute(conn).await
}

/// The parts of an email a rule looks at.
#[derive(Debug, Clone, Default)]
pub struct MailFacts {
    /// The sender's bare address, lower case.
    pub sender: String,
    /// False when the inbound provider's SPF/DKIM verdicts do not vouch for the sender's domain
    /// ([`super::verdicts`]): a rule on the sender then does not match, since anyone can write that `From`.
    pub sender_vouched: bool,
    pub subject: String,
    pub body: String,
}

/// One condition of a rule, and whether it holds for an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check<'a> {
    /// The rule's field: `senderPattern`, `subjectKeyword` or `bodyKeyword`.
    pub field: &'static str,
    pub pattern: &'a str,
    pub holds: bool,
}

impl WatcherRow {
    /// Each condition the rule has, checked against the email.
    pub fn checks(&self, mail: &MailFacts) -> Vec<Check<'_>> {
        let contains = |haystack: &str, needle: &str| haystack.to_lowercase().contains(&needle.to_lowercase());
        let mut checks = Vec::with_capacity(3);
        if let Some(pattern) = self.sender_pattern.as_deref() {
            let holds = mail.sender_vouched && glob(&pattern.to_lowercase(), &mail.sender);
            checks.push(Check { field: "senderPattern", pattern, holds });
        }
        if let Some(pattern) = self.subject_keyword.as_deref() {
            checks.push(Check { field: "subjectKeyword", pattern, holds: contains(&mail.subject, pattern) });
        }
        if let Some(pattern) = self.body_keyword.as_deref() {
            checks.push(Check { field: "bodyKeyword", pattern, holds: contains(&mail.body, pattern) });
        }
        checks
    }

    /// True when every condition the rule has holds for the email.
    pub fn matches(&self, mail: &MailFacts) -> bool {
        self.checks(mail).iter().all(|check| check.holds)
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else { return pattern == text };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    for part in middle {
        match rest.find(part) {
            Some(index) => rest = &rest[index + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(sender: Option<&str>, subject: Option<&str>, body: Option<&str>) -> WatcherRow {
        WatcherRow {
            id: Uuid::nil(),
            user_id: UserId(Uuid::nil()),
            reminder_id: ReminderId(Uuid::nil()),
            kind: "email".into(),
            sender_pattern: sender.map(str::to_owned),
            subject_keyword: subject.map(str::to_owned),
            body_keyword: body.map(str::to_owned),
            action: "complete".into(),
            enabled: true,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn globs_match_whole_addresses() {
        assert!(glob("*@bank.example", "alerts@bank.example"));
        assert!(!glob("*@bank.example", "alerts@bank.example.evil"));
        assert!(glob("alerts@bank.example", "alerts@bank.example"));
        assert!(!glob("alerts@bank.example", "xalerts@bank.example"));
        assert!(glob("a*b*c", "aXbYc") && !glob("a*b*c", "aXcYb"));
        assert!(glob("*", "") && glob("ab*", "ab") && !glob("ab*ab", "ab"));
    }

    #[test]
    fn every_condition_given_must_hold() {
        let mail = MailFacts {
            sender: "alerts@bank.example".into(),
            sender_vouched: true,
            subject: "Payment RECEIVED for rent".into(),
            body: "Thanks".into(),
        };
        assert!(rule(Some("*@Bank.example"), Some("payment received"), None).matches(&mail));
        assert!(!rule(Some("*@bank.example"), Some("refund"), None).matches(&mail));
        assert!(rule(None, None, Some("thanks")).matches(&mail));
        assert!(!rule(Some("someone@else.example"), None, None).matches(&mail));
        let forged = MailFacts { sender_vouched: false, ..mail };
        assert!(!rule(Some("*@bank.example"), None, None).matches(&forged), "an unvouched From matches no sender");
        assert!(rule(None, None, Some("thanks")).matches(&forged), "rules without a sender still match");
    }
}
