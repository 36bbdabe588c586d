//! Two-way SMS: what a text sent back to our number means, and acting on it. `ACK`, `DONE` and
//! `SNOOZE <phrase>` act on the reminder of the sender's most recent open episode that texted that number,
//! through the one action path with the SMS actor. From a trusted contact texted about someone's reminder,
//! `OK` (or `ACK`, `GOT IT`) is their "I've got it", as the link in that text. `STOP`/`START` (and
//! Twilio's synonyms) switch texts to the number off and on for everyone who sends to it, user or trusted
//! contact, so they are honoured whoever sends them; everything else from an unknown number changes nothing.
//! `YES` also accepts a trusted contact's invitation, but only one texted to that very number and still
//! unexpired; with several, `YES 2` picks one ([`crate::contacts::consent::accept_by_phone`]).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reminder_core::ids::{ReminderId, UserId};
use reminder_core::nlp::PhraseError;

use crate::contacts::consent::{self, TextedYes};
use crate::escalation::actions::{self, ActionError, Actor, SnoozeUntil};
use crate::escalation::got_it::{self, ContactDelivery, GotIt};
use crate::state::AppState;

/// A snooze with no phrase ("SNOOZE") lasts this long, the example every text shows.
const DEFAULT_SNOOZE: &str = "1 hour";

/// What a reply asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Act on the sender's reminder.
    Act(Action),
    Stop,
    Start,
    /// `YES 2`: opt in and accept the second of the trusted-contact invitations the sender was listed.
    Accept(usize),
    Help,
    /// Anything else; answered with the list of commands.
    Unknown,
}

/// The reminder actions a reply can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Complete,
    Snooze(String),
}

impl Command {
    /// Reads a reply: the first word picks the command (any case), the rest is the snooze phrase. The opt-out
    /// and opt-in words are Twilio's, which its own opt-out handling also reacts to.
    pub fn parse(body: &str) -> Command {
        let body = body.trim();
        let (word, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        let rest = rest.trim();
        match word.to_ascii_uppercase().trim_end_matches(['.', '!']) {
            "ACK" | "ACKNOWLEDGE" | "OK" if rest.is_empty() => Command::Act(Action::Acknowledge),
            "GOT" if rest.trim_end_matches(['.', '!']).eq_ignore_ascii_case("it") => Command::Act(Action::Acknowledge),
            "DONE" | "COMPLETE" | "COMPLETED" if rest.is_empty() => Command::Act(Action::Complete),
            "SNOOZE" if rest.is_empty() => Command::Act(Action::Snooze(DEFAULT_SNOOZE.to_owned())),
            "SNOOZE" => Command::Act(Action::Snooze(rest.to_owned())),
            "STOP" if rest.is_empty() || rest.eq_ignore_ascii_case("all") => Command::Stop,
            "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "REVOKE" if rest.is_empty() => {
                Command::Stop
            }
            "START" | "YES" | "UNSTOP" if rest.is_empty() => Command::Start,
            "YES" => rest.parse().map_or(Command::Unknown, Command::Accept),
            "HELP" | "INFO" if rest.is_empty() => Command::Help,
            _ => Command::Unknown,
        }
    }
}

const COMMANDS: &str = "Reply ACK to pause, DONE when done, SNOOZE 2h (or SNOOZE tomorrow 9am), STOP to end texts.";

/// The reminder a reply from a number acts on.
#[derive(diesel::QueryableByName)]
struct Addressed {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = SqlUuid)]
    reminder_id: ReminderId,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    timezone: String,
}

/// The most recent open episode that texted `phone` on one of its owner's SMS subscriptions: from the
/// number to its owners' reminders, to their open episodes (`escalations_one_open`), to their SMS
/// deliveries to that subscription.
const SELECT_ADDRESSED: &str = "
    SELECT e.user_id, e.reminder_id, r.title, u.timezone
    FROM user_agent_subscriptions s
    JOIN reminders r ON r.user_id = s.user_id
    JOIN escalations e ON e.reminder_id = r.id AND e.status IN ('active', 'acknowledged')
    JOIN deliveries d ON d.escalation_id = e.id AND d.target_kind = 'subscription' AND d.target_id = s.id
                     AND d.channel = 'sms' AND d.status IN ('sending', 'sent', 'delivered')
    JOIN users u ON u.id = e.user_id AND u.deleted_at IS NULL
    WHERE s.agent_type = 'sms' AND s.config->>'phoneNumber' = $1
    ORDER BY COALESCE(d.sent_at, d.created_at) DESC
    LIMIT 1";

#[derive(diesel::QueryableByName)]
struct Known {
    #[diesel(sql_type = Bool)]
    known: bool,
}

/// Acts on the reply `body` from `phone` and returns the text to answer with.
pub async fn handle(state: &AppState, phone: &str, body: &str) -> anyhow::Result<String> {
    let now = state.clock.now();
    let mut conn = state.db.get().await?;
    let action = match Command::parse(body) {
        Command::Act(action) => action,
        Command::Stop => {
            diesel::sql_query("INSERT INTO sms_opt_outs (phone) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind::<Text, _>(phone)
                .execute(&mut conn)
                .await?;
            return Ok(
                "You will get no more texts from Escalating Reminders. Reply START to turn them back on.".to_owned()
            );
        }
        command @ (Command::Start | Command::Accept(_)) => {
            diesel::sql_query("DELETE FROM sms_opt_outs WHERE phone = $1")
                .bind::<Text, _>(phone)
                .execute(&mut conn)
                .await?;
            // YES also answers a trusted contact's invitation texted to this number.
            if state.config.feature_social_escalation {
                let choice = if let Command::Accept(n) = command { Some(n) } else { None };
                match consent::accept_by_phone(&mut conn, phone, choice, now).await? {
                    TextedYes::Accepted { inviter } => {
                        return Ok(format!(
                            "Thank you: you are now a trusted contact of {inviter}. Reply STOP at any time to end texts."
                        ));
                    }
                    TextedYes::Choose(inviters) => return Ok(which_invitation(&inviters)),
                    TextedYes::NoInvitation => {}
                }
            }
            return Ok(format!("Texts from Escalating Reminders are on again. {COMMANDS}"));
        }
        Command::Help | Command::Unknown => return Ok(format!("Escalating Reminders: {COMMANDS}")),
    };
    let addressed: Option<Addressed> =
        diesel::sql_query(SELECT_ADDRESSED).bind::<Text, _>(phone).load(&mut conn).await?.into_iter().next();
    let Some(addressed) = addressed else {
        if state.config.feature_social_escalation
            && let Some(asked) = asked_contact(&mut conn, phone).await?
        {
            return contact_reply(state, &asked, action).await;
        }
        let known: Known = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM user_agent_subscriptions
                            WHERE agent_type = 'sms' AND config->>'phoneNumber' = $1)
                    OR EXISTS (SELECT 1 FROM trusted_contacts WHERE phone = $1 AND consent_status = 'accepted') AS known",
        )
        .bind::<Text, _>(phone)
        .get_result(&mut conn)
        .await?;
        return Ok(if known.known {
            "Nothing is waiting for an answer from this number right now.".to_owned()
        } else {
            "Sorry, this number is not linked to an Escalating Reminders account, so nothing was changed.".to_owned()
        });
    };
    act(state, &mut conn, &addressed, action, now).await
}

/// The most recent open episode (acknowledged ones too, to say it is taken care of) that texted `phone` as
/// an accepted trusted contact: from the contact's number to its owner's reminders, to their open
/// episodes (`escalations_one_open`), to their SMS deliveries to that contact.
const SELECT_ASKED_CONTACT: &str = "
    SELECT d.user_id AS owner, d.reminder_id AS reminder, d.escalation_id AS episode, c.id AS contact, r.title,
           c.name, COALESCE(d.sent_at, d.created_at) AS sent_at
    FROM trusted_contacts c
    JOIN reminders r ON r.user_id = c.user_id
    JOIN escalations e ON e.reminder_id = r.id AND e.status IN ('active', 'acknowledged')
    JOIN deliveries d ON d.escalation_id = e.id AND d.target_kind = 'contact' AND d.target_id = c.id
                     AND d.channel = 'sms' AND d.status IN ('sending', 'sent', 'delivered')
    WHERE c.phone = $1 AND c.consent_status = 'accepted'
    ORDER BY COALESCE(d.sent_at, d.created_at) DESC
    LIMIT 1";

async fn asked_contact(conn: &mut AsyncPgConnection, phone: &str) -> diesel::QueryResult<Option<ContactDelivery>> {
    Ok(diesel::sql_query(SELECT_ASKED_CONTACT).bind::<Text, _>(phone).load(conn).await?.into_iter().next())
}

/// Several invitations wait for this number: which one does the YES accept? Nothing is accepted until the
/// sender names one, so a YES meant for one person never makes them the contact of another.
fn which_invitation(inviters: &[String]) -> String {
    let choices: Vec<String> =
        inviters.iter().enumerate().map(|(i, inviter)| format!("YES {} for {inviter}", i + 1)).collect();
    format!(
        "You have {} invitations to be a trusted contact; none is accepted yet. Reply {}.",
        inviters.len(),
        choices.join(", ")
    )
}

/// A trusted contact can only say they have got it ([`got_it::reply`]); the rest is the owner's to do.
async fn contact_reply(state: &AppState, asked: &ContactDelivery, action: Action) -> anyhow::Result<String> {
    Ok(match got_it::reply(state, asked, action == Action::Acknowledge).await? {
        GotIt::Taken => format!("Thank you: they have been told you will take care of \"{}\".", asked.title),
        GotIt::AlreadyTaken => "This was already taken care of; nothing more to do.".to_owned(),
        GotIt::Expired => "That request is too old to answer; nothing was changed.".to_owned(),
        GotIt::OwnersOnly => "Only the reminder's owner can do that. Reply OK if you will take care of it.".to_owned(),
    })
}

async fn act(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    addressed: &Addressed,
    action: Action,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let (owner, reminder, title) = (addressed.user_id, addressed.reminder_id, addressed.title.as_str());
    let acted = match action {
        Action::Acknowledge => actions::acknowledge(conn, owner, reminder, Actor::Sms, None, now)
            .await
            .map(|_| format!("Acknowledged \"{title}\". Reply DONE when it is done.")),
        Action::Complete => {
            actions::complete(conn, owner, reminder, Actor::Sms, None, now).await.map(|_| format!("Done: \"{title}\"."))
        }
        Action::Snooze(phrase) => {
            let tz: Tz = reminder_core::timezone::parse_zone(&addressed.timezone).unwrap_or(chrono_tz::UTC);
            let understood = match crate::escalation::snooze::read_phrase(&state.config, &phrase, now, tz).await {
                Ok(understood) => understood,
                Err(err) => return Ok(phrase_refused(&phrase, err)),
            };
            let target = SnoozeUntil {
                until: understood.at,
                phrase: Some(phrase.clone()),
                interpreted_as: Some(understood.echo.clone()),
            };
            actions::snooze(conn, owner, reminder, Actor::Sms, &target, now)
                .await
                .map(|_| format!("Snoozed \"{title}\" until {}.", understood.echo))
        }
    };
    match acted {
        Ok(reply) => Ok(reply),
        Err(ActionError::NotAllowed(message)) => Ok(message),
        Err(ActionError::NotFound) => Ok("That reminder no longer exists.".to_owned()),
        Err(err) => Err(anyhow::Error::new(err)),
    }
}

fn phrase_refused(phrase: &str, err: PhraseError) -> String {
    match err {
        PhraseError::NotUnderstood => {
            format!("Sorry, \"{phrase}\" is not a time I understand. Try SNOOZE 2h or SNOOZE tomorrow 9am.")
        }
        PhraseError::InPast => format!("\"{phrase}\" is in the past; snooze to a time ahead."),
        PhraseError::TooFar => format!("\"{phrase}\" is more than a year away."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_as_commands() {
        let snooze = |phrase: &str| Command::Act(Action::Snooze(phrase.to_owned()));
        assert_eq!(Command::parse(" ack "), Command::Act(Action::Acknowledge));
        assert_eq!(Command::parse("Done."), Command::Act(Action::Complete));
        assert_eq!(Command::parse("SNOOZE 2 hours"), snooze("2 hours"));
        assert_eq!(Command::parse("snooze   tomorrow 9am"), snooze("tomorrow 9am"));
        assert_eq!(Command::parse("snooze"), snooze(DEFAULT_SNOOZE));
        for stop in ["STOP", "stop", "Stop all", "UNSUBSCRIBE", "cancel", "END", "quit", "STOPALL"] {
            assert_eq!(Command::parse(stop), Command::Stop, "{stop}");
        }
        for start in ["START", "yes", "Unstop"] {
            assert_eq!(Command::parse(start), Command::Start, "{start}");
        }
        assert_eq!(Command::parse("YES 2"), Command::Accept(2));
        assert_eq!(Command::parse("yes please"), Command::Unknown);
        assert_eq!(Command::parse("Got it!"), Command::Act(Action::Acknowledge));
        assert_eq!(Command::parse("help"), Command::Help);
        assert_eq!(Command::parse("ack please"), Command::Unknown, "only the bare word acts");
        assert_eq!(Command::parse("stop calling me"), Command::Unknown);
        assert_eq!(Command::parse(""), Command::Unknown);
    }

    #[test]
    fn the_phrases_the_texts_suggest_are_understood() {
        let now = chrono::Utc::now();
        for phrase in ["2h", "1h", "2 hours", DEFAULT_SNOOZE, "tomorrow 9am"] {
            assert!(reminder_core::nlp::parse(phrase, now, chrono_tz::Europe::Berlin).is_ok(), "{phrase}");
        }
    }
}
