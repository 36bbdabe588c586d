//! Inbound email from SendGrid Inbound Parse (multipart/form-data: `from`, `to`, `cc`, `subject`, `text`,
//! `html`, `headers`, `envelope`, `SPF`, `dkim`, attachments…), read with a size limit, then routed by
//! recipient: a user's watcher address is matched against that user's rules, a reply address acts on its
//! episode. Mail for no address of ours changes nothing.

use std::collections::BTreeSet;

use actix_multipart::Multipart;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use reminder_core::ids::{ReminderId, UserId};
use serde::Serialize;
use uuid::Uuid;

use super::addresses::{self, Recipient};
use super::evidence::{self, EventRow, Evidence};
use super::replies;
use super::rules::{self, MailFacts, WatcherRow};
use super::verdicts::{self, Verdict};
use crate::escalation::actions::{ActionError, Actor};
use crate::http::{ApiError, ErrorCode};
use crate::state::AppState;

/// Largest inbound post accepted. Attachments count too: mail that large is not evidence we read.
pub const INBOUND_MAX_BYTES: usize = 1024 * 1024;

/// The fields of a SendGrid post that we use.
#[derive(Debug, Clone, Default)]
pub struct InboundEmail {
    pub from: String,
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub headers: String,
    /// SMTP envelope as JSON: `{"to": ["…"], "from": "…"}`.
    pub envelope: String,
    /// The provider's SPF verdict (SendGrid's `SPF`), empty when it sent none.
    pub spf: String,
    /// The provider's DKIM verdicts (SendGrid's `dkim`: `{@domain : pass}`), empty when it sent none.
    pub dkim: String,
}

impl InboundEmail {
    /// Every recipient address: the To and Cc headers and the SMTP envelope (a Bcc'd or forwarded copy is
    /// only in the envelope).
    pub fn recipients(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = addresses::split_addresses(&self.to).into_iter().collect();
        all.extend(addresses::split_addresses(&self.cc));
        if let Ok(envelope) = serde_json::from_str::<serde_json::Value>(&self.envelope) {
            let to = envelope["to"].as_array().into_iter().flatten().filter_map(|a| a.as_str());
            all.extend(to.filter_map(addresses::bare_address));
        }
        all
    }

    /// The `Message-ID` header, when the raw headers carry one.
    pub fn message_id(&self) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            let value = value.trim();
            (name.trim().eq_ignore_ascii_case("message-id") && !value.is_empty()).then(|| value.to_owned())
        })
    }

    /// The plain text body; from the HTML part with tags dropped when there is no text part.
    pub fn body_text(&self) -> String {
        if !self.text.trim().is_empty() {
            return self.text.clone();
        }
        let mut out = String::with_capacity(self.html.len());
        let mut in_tag = false;
        for c in self.html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    out.push(' ');
                }
                _ if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }

    /// The SMTP envelope's sender, when the envelope names one.
    fn envelope_from(&self) -> Option<String> {
        let envelope = serde_json::from_str::<serde_json::Value>(&self.envelope).ok()?;
        envelope["from"].as_str().and_then(addresses::bare_address)
    }

    pub fn facts(&self) -> MailFacts {
        let sender = addresses::bare_address(&self.from).unwrap_or_default();
        let verdict = verdicts::judge(&sender, self.envelope_from().as_deref(), &self.spf, &self.dkim);
        MailFacts {
            sender,
            sender_vouched: verdict != Verdict::Fail,
            subject: self.subject.clone(),
            body: self.body_text(),
        }
    }
}

/// 413 for a post over [`INBOUND_MAX_BYTES`].
pub fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "An inbound email post is at most 1 MiB.")
}

/// Reads the multipart body, keeping the text fields we use and draining the rest, within the size limit.
pub async fn read(mut form: Multipart) -> Result<InboundEmail, ApiError> {
    let mut email = InboundEmail::default();
    let mut total = 0usize;
    let unreadable = || ApiError::bad_request("The body is not a readable multipart/form-data post.");
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| unreadable())?;
        let is_file = field.content_disposition().and_then(|d| d.get_filename()).is_some();
        let name = field.name().unwrap_or_default().to_owned();
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            total += chunk.len();
            if total > INBOUND_MAX_BYTES {
                return Err(too_large());
            }
            if !is_file {
                value.extend_from_slice(&chunk);
            }
        }
        let slot = match name.as_str() {
            "from" => &mut email.from,
            "to" => &mut email.to,
            "cc" => &mut email.cc,
            "subject" => &mut email.subject,
            "text" => &mut email.text,
            "html" => &mut email.html,
            "headers" => &mut email.headers,
            "envelope" => &mut email.envelope,
            "SPF" | "spf" => &mut email.spf,
            "dkim" | "DKIM" => &mut email.dkim,
            _ => continue,
        };
        if !is_file {
            *slot = String::from_utf8_lossy(&value).into_owned();
        }
    }
    Ok(email)
}

/// What one match or reply did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundResult {
    /// `email_watcher`, `imap_watcher` or `email_reply`.
    pub source: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub reminder_id: Option<ReminderId>,
    pub watcher_id: Option<Uuid>,
    pub action: Option<String>,
    pub acted: bool,
    /// For a snooze: the time understood, in the owner's zone.
    pub interpreted_as: Option<String>,
    pub message: String,
}

/// The answer to SendGrid (it only needs a 2xx) and to whoever tests the webhook.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboundOutcome {
    pub results: Vec<InboundResult>,
}

/// Routes the email to the watcher rules and replies its recipients name.
pub async fn process(state: &AppState, email: &InboundEmail) -> Result<InboundOutcome, ApiError> {
    let mut results = Vec::new();
    let replies = crate::notifications::reply_address::ReplyAddresses::for_state(state);
    let all = email.recipients();
    let claimed: Vec<UserId> = all.iter().filter_map(|address| addresses::claimed_watch_user(address)).collect();
    let generations = addresses::generations::of_all(&mut *state.db.get().await?, &claimed).await?;
    let generation = |user: UserId| generations.get(&user).copied().unwrap_or(0);
    let recipients: BTreeSet<Recipient> =
        all.iter().filter_map(|address| addresses::classify(&state.config, &replies, generation, address)).collect();
    let facts = email.facts();
    let message_id = email.message_id();
    for recipient in recipients {
        match recipient {
            Recipient::Watch(user) => {
                let mut conn = state.db.get().await?;
                // One action per reminder per email, whichever rules match: two rules on a recurring reminder
                // must not complete two occurrences.
                let mut seen = BTreeSet::new();
                let matching: Vec<WatcherRow> =
                    rules::list_for(&mut conn, user, Some(super::imap::input::Provider::Email))
                        .await?
                        .into_iter()
                        .filter(|r| r.matches(&facts) && seen.insert(r.reminder_id))
                        .collect();
                for rule in matching {
                    let via = RuleSource::Inbound;
                    results.push(act_on_rule(state, &mut conn, &rule, &facts, message_id.as_deref(), via).await?);
                }
            }
            Recipient::Reply(delivery) => {
                results.push(replies::handle(state, delivery, email, message_id.as_deref()).await?);
            }
        }
    }
    Ok(InboundOutcome { results })
}

/// Where the mail a rule matched came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSource {
    /// Forwarded to the user's watcher address (SendGrid Inbound Parse).
    Inbound,
    /// Read from the user's own mailbox by the IMAP poller.
    Mailbox,
}

impl RuleSource {
    /// The `watcher_events.source`.
    fn event_source(self) -> &'static str {
        match self {
            RuleSource::Inbound => "email_watcher",
            RuleSource::Mailbox => "imap_watcher",
        }
    }

    /// The note on the action, in the reminder's history.
    fn note(self) -> &'static str {
        match self {
            RuleSource::Inbound => "email watcher",
            RuleSource::Mailbox => "mailbox watcher",
        }
    }
}

/// Records the match and acts, the event row and the action in one transaction. A message already handled
/// for this rule (SendGrid retried, the same message reached the mailbox twice) changes nothing; an action
/// the reminder's state refuses is recorded as not applied.
pub async fn act_on_rule(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    rule: &WatcherRow,
    mail: &MailFacts,
    message_id: Option<&str>,
    source: RuleSource,
) -> Result<InboundResult, ApiError> {
    let evidence = if rule.action == "acknowledge" { Evidence::Acknowledge } else { Evidence::Complete };
    let via = format!("by an email from {} (\"{}\")", mail.sender, mail.subject.chars().take(80).collect::<String>());
    let row = EventRow {
        user_id: rule.user_id,
        reminder_id: Some(rule.reminder_id),
        watcher_id: Some(rule.id),
        hook_id: None,
        source: source.event_source(),
        action: evidence.name().to_owned(),
        summary: Some(evidence.summary(&via)),
        occurrence_at: None,
        message_id: message_id.map(str::to_owned),
    };
    let now = state.clock.now();
    let (acted, message) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let Some(event) = evidence::record(conn, &row).await? else {
                return Ok((false, "This email was already handled for this watcher.".to_owned()));
            };
            let note = Some(source.note());
            let refused =
                match evidence::apply(conn, rule.user_id, rule.reminder_id, &evidence, Actor::Email, note, now).await {
                    Ok(_) => return Ok((true, evidence.summary(&via))),
                    Err(ActionError::NotAllowed(reason)) => reason,
                    Err(ActionError::NotFound) => "the reminder is gone".to_owned(),
                    Err(err) => return Err(err.into()),
                };
            let message = format!("Matched, but not applied: {refused}");
            evidence::annotate(conn, event, &message).await?;
            Ok((false, message))
        })
        .await?;
    Ok(InboundResult {
        source: source.event_source().to_owned(),
        reminder_id: Some(rule.reminder_id),
        watcher_id: Some(rule.id),
        action: Some(evidence.name().to_owned()),
        acted,
        interpreted_as: None,
        message,
    })
}
