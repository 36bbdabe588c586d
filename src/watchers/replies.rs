//! Replies to our own notification emails. The first line says what to do — `done`, `ack`, or
//! `snooze <phrase>` — and it acts on the episode the notification belonged to, only while that episode is
//! still the reminder's open one. The owner gets a short email back saying what was understood.
//!
//! Who may do what depends on whom the notification was for, not on the reply's `From` (anyone can write
//! that): a reply to a trusted contact's notification can only say they have got it ([`contact`]), and a
//! message with the subject or first line `unsubscribe` (the `mailto:` of `List-Unsubscribe`) stops that
//! recipient's emails ([`unsubscribe`]).

mod contact;
mod unsubscribe;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use reminder_core::ids::{DeliveryId, EpisodeId, ReminderId, UserId};
use uuid::Uuid;

use super::evidence::{self, EventRow, Evidence};
use super::inbound::{InboundEmail, InboundResult};
use crate::accounts::users::notice::{self, Notice};
use crate::db::schema::deliveries;
use crate::escalation::actions::{ActionError, Actor};
use crate::escalation::episodes;
use crate::http::ApiError;
use crate::state::AppState;

/// What the first line of a reply asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyCommand {
    Done,
    /// `ack`; also `ok` and `got it`, a trusted contact's "I've got it" (as in SMS replies).
    Ack,
    /// The phrase after `snooze` ("2h", "until tomorrow 9am"); a bare `snooze` means one hour.
    Snooze(String),
    /// Stop emails to this recipient (`List-Unsubscribe`'s `mailto:` sends the subject `unsubscribe`).
    Unsubscribe,
}

impl ReplyCommand {
    /// The action's name in results (`acknowledge`, `complete`, `snooze`, `unsubscribe`).
    pub fn name(&self) -> &'static str {
        match self {
            ReplyCommand::Done => "complete",
            ReplyCommand::Ack => "acknowledge",
            ReplyCommand::Snooze(_) => "snooze",
            ReplyCommand::Unsubscribe => "unsubscribe",
        }
    }
}

/// Reads the first non-empty line of the reply; None when it is not a command (the quoted notification
/// below it is never read).
pub fn parse_first_line(body: &str) -> Option<ReplyCommand> {
    let line = body.lines().map(str::trim).find(|line| !line.is_empty())?;
    let line = line.trim_end_matches(['.', '!']).trim();
    let (word, rest) = line.split_once(char::is_whitespace).map_or((line, ""), |(w, r)| (w, r.trim()));
    match (word.to_lowercase().as_str(), rest.to_lowercase().as_str()) {
        ("done" | "complete" | "completed", "") => Some(ReplyCommand::Done),
        ("ack" | "acknowledge" | "acknowledged" | "ok" | "okay", "") | ("got", "it") => Some(ReplyCommand::Ack),
        ("snooze", "") => Some(ReplyCommand::Snooze("in 1 hour".to_owned())),
        ("snooze", _) => Some(ReplyCommand::Snooze(rest.to_owned())),
        ("unsubscribe", "") => Some(ReplyCommand::Unsubscribe),
        _ => None,
    }
}

/// What a whole message asks for: the subject `unsubscribe` (what a mail client sends to the `mailto:` of
/// `List-Unsubscribe`, often with an empty body), otherwise the first line.
pub fn read(email: &InboundEmail) -> Option<ReplyCommand> {
    if email.subject.trim().eq_ignore_ascii_case("unsubscribe") {
        return Some(ReplyCommand::Unsubscribe);
    }
    parse_first_line(&email.body_text())
}

/// The delivery a reply names: whose reminder, which episode, and whom it was sent to.
#[derive(Debug, Queryable)]
struct Replied {
    owner: UserId,
    reminder: ReminderId,
    episode: EpisodeId,
    /// `subscription` (one of the owner's channels), `contact` (a trusted contact) or `member` (of the
    /// owner's family, on a shared reminder).
    target_kind: String,
    target_id: Uuid,
}

fn result(reminder: Option<ReminderId>, action: Option<&str>, acted: bool, message: String) -> InboundResult {
    InboundResult {
        source: "email_reply".to_owned(),
        reminder_id: reminder,
        watcher_id: None,
        action: action.map(str::to_owned),
        acted,
        interpreted_as: None,
        message,
    }
}

/// Acts on the episode of `delivery` as the reply says, within what the notification's recipient may do,
/// and answers by email what happened.
pub async fn handle(
    state: &AppState,
    delivery: DeliveryId,
    email: &InboundEmail,
    message_id: Option<&str>,
) -> Result<InboundResult, ApiError> {
    let mut conn = state.db.get().await?;
    let found: Option<Replied> = deliveries::table
        .find(delivery)
        .select((
            deliveries::user_id,
            deliveries::reminder_id,
            deliveries::escalation_id,
            deliveries::target_kind,
            deliveries::target_id,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some(replied) = found else {
        return Ok(result(None, None, false, "The notification this replies to no longer exists.".to_owned()));
    };
    let command = read(email);
    if command == Some(ReplyCommand::Unsubscribe) {
        return unsubscribe::handle(state, &mut conn, &replied).await;
    }
    if replied.target_kind == "contact" {
        drop(conn);
        return contact::handle(state, delivery, replied.reminder, command).await;
    }
    let Replied { owner, reminder, episode, target_kind, target_id } = replied;
    // A family member's reply acts as that member, and may not snooze the owner's reminder.
    let member = (target_kind == "member").then(|| UserId::from(target_id));
    // The answer goes to whoever replied: the member, or the owner.
    let replier = member.unwrap_or(owner);
    let now = state.clock.now();
    let evidence = match command {
        // An unsubscribe was answered above.
        None | Some(ReplyCommand::Unsubscribe) => {
            let message = "The first line was not understood; reply with done, ack or snooze <time>.".to_owned();
            return Ok(tell(state, replier, result(Some(reminder), None, false, message)).await);
        }
        Some(ReplyCommand::Done) => Evidence::Complete,
        Some(ReplyCommand::Ack) => Evidence::Acknowledge,
        Some(ReplyCommand::Snooze(_)) if member.is_some() => {
            let message = "Only the reminder's owner can snooze it; reply with done or ack.".to_owned();
            return Ok(tell(state, replier, result(Some(reminder), Some("snooze"), false, message)).await);
        }
        Some(ReplyCommand::Snooze(phrase)) => {
            match evidence::snooze_target(&state.config, &mut conn, owner, &phrase, now).await {
                Ok(target) => Evidence::Snooze(target),
                Err(err) => {
                    let message = format!("Not snoozed: {}", client_message(&err));
                    return Ok(tell(state, replier, result(Some(reminder), Some("snooze"), false, message)).await);
                }
            }
        }
    };
    let action = evidence.name();
    let via = "by an email reply";
    let (acted, message) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // Same lock order as the action path: the reminder, then its open episode.
            if crate::reminders::store::lock_for(conn, owner, reminder).await?.is_none() {
                return Ok((false, "The reminder no longer exists.".to_owned()));
            }
            let open = episodes::lock_open(conn, reminder).await?;
            let Some(open) = open.filter(|open| open.id == episode) else {
                return Ok((false, "That notification's episode is already over; nothing was changed.".to_owned()));
            };
            let row = EventRow {
                user_id: owner,
                reminder_id: Some(reminder),
                watcher_id: None,
                hook_id: None,
                source: "email_reply",
                action: action.to_owned(),
                summary: Some(evidence.summary(via)),
                occurrence_at: Some(open.occurrence_at),
                message_id: message_id.map(str::to_owned),
            };
            if evidence::record(conn, &row).await?.is_none() {
                return Ok((false, "This reply was already handled.".to_owned()));
            }
            match evidence::apply(
                conn,
                owner,
                reminder,
                &evidence,
                member.map_or(Actor::Email, Actor::Member),
                Some("email reply"),
                now,
            )
            .await
            {
                Ok(_) => Ok((true, format!("Done: {}.", evidence.summary(via)))),
                Err(ActionError::NotAllowed(reason)) => Err(ApiError::unprocessable(reason)),
                Err(err) => Err(err.into()),
            }
        })
        .await
        .or_else(|err| match err {
            ApiError::Client { message, .. } => Ok((false, format!("Not applied: {message}"))),
            other => Err(other),
        })?;
    let mut answer = result(Some(reminder), Some(action), acted, message);
    answer.interpreted_as = evidence.interpreted_as().filter(|_| acted).map(str::to_owned);
    Ok(tell(state, replier, answer).await)
}

fn client_message(err: &ApiError) -> String {
    match err {
        ApiError::Client { message, .. } => message.clone(),
        _ => "the time could not be read.".to_owned(),
    }
}

/// The email that answers a reply.
fn notice_of(answer: &InboundResult) -> Notice {
    let subject = if answer.acted { "Your reply was applied" } else { "Your reply was not applied" };
    Notice { subject: subject.to_owned(), text: answer.message.clone() }
}

/// Emails whoever replied (the owner, or a family member) what the reply did or why it did nothing. A failed
/// notice is logged, not fatal: the action itself has committed.
async fn tell(state: &AppState, to: UserId, answer: InboundResult) -> InboundResult {
    if let Err(err) = notice::email_owner(state, to, notice_of(&answer)).await {
        tracing::warn!(user.id = %to, error = %err, "the answer to an email reply could not be sent");
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_non_empty_line_is_the_command() {
        assert_eq!(parse_first_line("\n  Done.\n> quoted reminder"), Some(ReplyCommand::Done));
        assert_eq!(parse_first_line("ACK"), Some(ReplyCommand::Ack));
        assert_eq!(parse_first_line("snooze 2h\nthanks"), Some(ReplyCommand::Snooze("2h".into())));
        assert_eq!(
            parse_first_line("Snooze until tomorrow 9am"),
            Some(ReplyCommand::Snooze("until tomorrow 9am".into()))
        );
        assert_eq!(parse_first_line("snooze"), Some(ReplyCommand::Snooze("in 1 hour".into())));
        assert_eq!(parse_first_line("done with this? no\ndone"), None);
        assert_eq!(parse_first_line("   \n"), None);
        assert_eq!(parse_first_line("Got it!"), Some(ReplyCommand::Ack));
        assert_eq!(parse_first_line("ok"), Some(ReplyCommand::Ack));
        assert_eq!(parse_first_line("Unsubscribe"), Some(ReplyCommand::Unsubscribe));
        assert_eq!(parse_first_line("got it done"), None);
    }
}
