//! The IMAP columns of `watchers` (the watchers module owns the table): a new IMAP watcher with its sealed
//! credentials, the mailbox state the API shows, the poller's claim of due mailboxes with a lease, and the
//! outcome of each poll. The claim is one statement with `FOR UPDATE SKIP LOCKED`, so two workers never
//! poll one mailbox at once; the lease (`next_poll_at` moved ahead) covers the poll itself, which holds no
//! transaction while it talks to the server.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Bytea, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::UserId;
use uuid::Uuid;

use super::cursor::Stored;
use super::input::{Credentials, MailboxStatus, MailboxView, NewMailbox};
use crate::db::Prepare;
use crate::db::schema::watchers;
use crate::watchers::rules::{ValidRule, WatcherRow};

/// The key the credentials are sealed under, derived from `ENCRYPTION_KEY` for this purpose only.
pub fn key(config: &crate::config::Config) -> [u8; 32] {
    use secrecy::ExposeSecret;
    crate::crypto::derive_key(config.encryption_key.expose_secret(), "imap-watchers/v1")
}

/// The user name and app password sealed to the watcher row `id`.
pub fn seal(key: &[u8; 32], id: Uuid, credentials: &Credentials) -> anyhow::Result<Vec<u8>> {
    crate::crypto::encrypt(key, id, &serde_json::to_vec(credentials)?)
}

/// The credentials sealed to row `id`; None when they cannot be read (another key, another row).
pub fn open(key: &[u8; 32], id: Uuid, sealed: &[u8]) -> Option<Credentials> {
    let plain = crate::crypto::decrypt(key, id, sealed).ok()?;
    serde_json::from_slice(&plain).ok()
}

/// Inserts an IMAP watcher, due for its first poll at once (which records where its mail starts).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    key: &[u8; 32],
    owner: UserId,
    rule: &ValidRule,
    mailbox: &NewMailbox,
    now: DateTime<Utc>,
) -> anyhow::Result<WatcherRow> {
    let id = Uuid::new_v4();
    let sealed = seal(key, id, &mailbox.credentials)?;
    let [sender, subject, body] = rule.conditions.clone();
    let row = diesel::insert_into(watchers::table)
        .values((
            watchers::id.eq(id),
            watchers::user_id.eq(owner),
            watchers::reminder_id.eq(rule.reminder),
            watchers::kind.eq("imap"),
            watchers::sender_pattern.eq(sender),
            watchers::subject_keyword.eq(subject),
            watchers::body_keyword.eq(body),
            watchers::action.eq(&rule.action),
            watchers::imap_host.eq(&mailbox.host),
            watchers::imap_port.eq(i32::from(mailbox.port)),
            watchers::imap_tls.eq(mailbox.tls),
            watchers::imap_folder.eq(&mailbox.folder),
            watchers::secret_ciphertext.eq(sealed),
            watchers::poll_status.eq(MailboxStatus::Pending.as_str()),
            watchers::next_poll_at.eq(now),
        ))
        .returning(WatcherRow::as_returning())
        .get_result(conn)
        .await?;
    Ok(row)
}

/// The mailbox columns of an IMAP watcher row.
#[derive(Debug, Clone, QueryableByName)]
pub struct MailboxRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub imap_host: String,
    #[diesel(sql_type = Integer)]
    pub imap_port: i32,
    #[diesel(sql_type = Bool)]
    pub imap_tls: bool,
    #[diesel(sql_type = Text)]
    pub imap_folder: String,
    #[diesel(sql_type = Bytea)]
    pub secret_ciphertext: Vec<u8>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub uid_validity: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub last_uid: Option<i64>,
    #[diesel(sql_type = Text)]
    pub poll_status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Integer)]
    pub failures: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_polled_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub paused_reason: Option<String>,
}

const MAILBOX_COLUMNS: &str = "id, imap_host, imap_port, imap_tls, imap_folder, secret_ciphertext, uid_validity, \
     last_uid, poll_status, last_error, failures, last_polled_at, paused_reason";

impl MailboxRow {
    /// Where the last poll left off.
    pub fn stored(&self) -> Stored {
        let uid = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok());
        Stored { uid_validity: uid(self.uid_validity), last_uid: uid(self.last_uid) }
    }

    /// What the API shows; the user name is read from the sealed credentials, the password never is.
    pub fn view(&self, key: &[u8; 32]) -> MailboxView {
        let user = open(key, self.id, &self.secret_ciphertext).map(|c| c.user).unwrap_or_default();
        MailboxView {
            host: self.imap_host.clone(),
            port: u16::try_from(self.imap_port).unwrap_or_default(),
            user,
            folder: self.imap_folder.clone(),
            tls: self.imap_tls,
            status: MailboxStatus::parse(&self.poll_status),
            last_error: self.last_error.clone(),
            last_polled_at: self.last_polled_at,
            failures: self.failures,
            paused_reason: self.paused_reason.clone(),
        }
    }
}

/// The mailboxes of the owner's IMAP watchers among `ids`, by watcher id.
pub async fn mailboxes_of(
    conn: &mut AsyncPgConnection,
    owner: UserId,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, MailboxRow>> {
    let sql = format!("SELECT {MAILBOX_COLUMNS} FROM watchers WHERE user_id = $1 AND kind = 'imap' AND id = ANY($2)");
    let rows: Vec<MailboxRow> = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(owner.uuid())
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// A due IMAP watcher as the poller claimed it: its rule and its mailbox.
#[derive(Debug, Clone, QueryableByName)]
pub struct DueMailbox {
    #[diesel(embed)]
    pub rule: WatcherRow,
    #[diesel(embed)]
    pub mailbox: MailboxRow,
}

/// Claims up to `limit` due IMAP watchers, moving their `next_poll_at` a `lease` ahead so no other worker
/// takes them while this one polls.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> QueryResult<Vec<DueMailbox>> {
    let sql = format!(
        "UPDATE watchers SET next_poll_at = $1 + make_interval(secs => $2)
          WHERE id IN (SELECT id FROM watchers
                        WHERE kind = 'imap' AND enabled AND paused_reason IS NULL AND next_poll_at <= $1
                        ORDER BY next_poll_at FOR UPDATE SKIP LOCKED LIMIT $3)
          RETURNING user_id, reminder_id, kind, sender_pattern, subject_keyword, body_keyword, action, enabled,
                    created_at, {MAILBOX_COLUMNS}"
    );
    diesel::sql_query(sql)
        .bind::<Timestamptz, _>(now)
        .bind::<Double, _>(lease.as_secs_f64())
        .bind::<BigInt, _>(limit)
        .prepared()
        .load(conn)
        .await
}

/// A poll succeeded: where the mail now starts, status ok, the next poll one interval on.
pub async fn record_success(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    read: Stored,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(watchers::table.find(id).filter(watchers::kind.eq("imap")))
        .set((
            watchers::uid_validity.eq(read.uid_validity.map(i64::from)),
            watchers::last_uid.eq(read.last_uid.map(i64::from)),
            watchers::poll_status.eq(MailboxStatus::Ok.as_str()),
            watchers::last_error.eq(None::<String>),
            watchers::failures.eq(0),
            watchers::last_polled_at.eq(now),
            watchers::next_poll_at.eq(next),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Failures {
    #[diesel(sql_type = Integer)]
    failures: i32,
}

/// A poll failed: the reason in words, one more failure, `failing` from `failing_after` in a row on, and
/// the next try at `next`. Returns the failures in a row now (None when the watcher is gone).
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    error: &str,
    failing_after: i32,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
) -> QueryResult<Option<i32>> {
    let row: Option<Failures> = diesel::sql_query(
        "UPDATE watchers SET failures = failures + 1, last_error = $2, last_polled_at = $3, next_poll_at = $4,
                poll_status = CASE WHEN failures + 1 >= $5 THEN 'failing' ELSE poll_status END
          WHERE id = $1 AND kind = 'imap'
          RETURNING failures",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(error)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(next)
    .bind::<Integer, _>(failing_after)
    .prepared()
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_open_only_on_their_own_row_and_the_view_never_shows_the_password() {
        let key = [3u8; 32];
        let id = Uuid::new_v4();
        let credentials = Credentials { user: "ada".into(), password: "app-password".into() };
        let sealed = seal(&key, id, &credentials).unwrap();
        assert_eq!(open(&key, id, &sealed).unwrap().password, "app-password");
        assert!(open(&key, Uuid::new_v4(), &sealed).is_none(), "copied to another row");
        let row = MailboxRow {
            id,
            imap_host: "imap.example.com".into(),
            imap_port: 993,
            imap_tls: true,
            imap_folder: "INBOX".into(),
            secret_ciphertext: sealed,
            uid_validity: Some(7),
            last_uid: Some(41),
            poll_status: "ok".into(),
            last_error: None,
            failures: 0,
            last_polled_at: None,
            paused_reason: None,
        };
        let view = serde_json::to_string(&row.view(&key)).unwrap();
        assert!(view.contains("\"user\":\"ada\"") && !view.contains("app-password"), "{view}");
        assert_eq!(row.stored(), Stored { uid_validity: Some(7), last_uid: Some(41) });
    }
}
