//! A reply to a trusted contact's notification. Its Reply-To names a delivery that went to the contact, so
//! the reply speaks for the contact, never for the owner, whoever it claims to be from: it can say they have
//! got it, as their link and an SMS `OK` do ([`got_it::reply`] is that one rule), and anything else is
//! refused with an email telling the contact what they can do.

use reminder_core::ids::{DeliveryId, ReminderId};

use super::{ReplyCommand, notice_of, result};
use crate::escalation::got_it::{self, GotIt};
use crate::http::ApiError;
use crate::state::AppState;
use crate::watchers::inbound::InboundResult;

/// Answers the contact's reply to `delivery` (a notification about `reminder`).
pub(super) async fn handle(
    state: &AppState,
    delivery: DeliveryId,
    reminder: ReminderId,
    command: Option<ReplyCommand>,
) -> Result<InboundResult, ApiError> {
    let mut conn = state.db.get().await?;
    let Some(named) = got_it::load(&mut conn, delivery).await? else {
        // Opted out, declined or readdressed since: they asked for no more messages, so none is sent.
        let message = "Not from an accepted trusted contact any more; nothing was changed.".to_owned();
        return Ok(result(Some(reminder), command.as_ref().map(ReplyCommand::name), false, message));
    };
    let address = crate::contacts::store::find_by_id(&mut conn, named.contact).await?.and_then(|c| c.email);
    drop(conn);
    let title = &named.title;
    let outcome = got_it::reply(state, &named, command == Some(ReplyCommand::Ack)).await?;
    let message = match outcome {
        GotIt::Taken => format!("Thank you: they have been told you will take care of \"{title}\"."),
        GotIt::AlreadyTaken => "This was already taken care of; nothing more to do.".to_owned(),
        GotIt::Expired => "That request is too old to answer; nothing was changed.".to_owned(),
        GotIt::OwnersOnly => {
            let why = match command {
                None => "Your reply was not understood",
                Some(_) => "Only the reminder's owner can mark it as done or snooze it",
            };
            format!(
                "{why}, so nothing was changed. Reply \"got it\" if you will take care of \"{title}\", or \
                 \"unsubscribe\" to get no more of these emails."
            )
        }
    };
    let answer = result(Some(reminder), command.as_ref().map(ReplyCommand::name), outcome == GotIt::Taken, message);
    // Answered at the contact's address on file, not the reply's forgeable From.
    if let Some(address) = address
        && let Err(err) = crate::accounts::users::notice::email_to(state, &address, notice_of(&answer)).await
    {
        tracing::warn!(contact.id = %named.contact, error = %err, "the answer to a contact's email reply could not be sent");
    }
    Ok(answer)
}
