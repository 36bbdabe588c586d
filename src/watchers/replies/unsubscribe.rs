//! `unsubscribe` sent to a notification's reply address: what a mail client does with the `mailto:` of the
//! notification's `List-Unsubscribe`. It stops that recipient's emails as the one-click link does.

use diesel_async::AsyncPgConnection;

use super::{Replied, result, tell};
use crate::http::ApiError;
use crate::notifications::unsubscribe::{Stopped, stop};
use crate::state::AppState;
use crate::watchers::inbound::InboundResult;

pub(super) async fn handle(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    replied: &Replied,
) -> Result<InboundResult, ApiError> {
    let how = "unsubscribed by an email to the List-Unsubscribe address";
    let stopped = stop(conn, replied.owner, &replied.target_kind, replied.target_id, how, state.clock.now()).await?;
    if stopped == Stopped::Member {
        crate::family::store::unshare_all(conn, replied.owner, replied.target_id.into()).await?;
    }
    let message = match stopped {
        Stopped::Member => "You will receive no more of this family's shared reminders.",
        Stopped::Contact => "The trusted contact is unsubscribed: they will not be asked about these reminders again.",
        Stopped::Subscription => {
            "This address will receive no more notifications. You can turn it back on in your notification channels."
        }
    };
    let answer = result(Some(replied.reminder), Some("unsubscribe"), true, message.to_owned());
    Ok(match stopped {
        // The owner hears that one of their channels went quiet (it may be an address they share).
        Stopped::Subscription => tell(state, replied.owner, answer).await,
        // A contact asked for no more mail; they get none, not even a confirmation.
        Stopped::Contact | Stopped::Member => answer,
    })
}
