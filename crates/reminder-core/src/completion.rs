//! How a reminder gets completed: the sentence its detail view and its notifications show for each kind of
//! completion criteria.

/// How a reminder with completion criteria of `kind` (`manual`, `webhook`, `email_watcher`) gets completed.
pub fn how_to_complete(kind: &str) -> &'static str {
    match kind {
        "webhook" => {
            "Completed by evidence: a call to one of its completion hooks (POST /v1/hooks/{token}). \
             It can also be completed by hand or with the links in a notification."
        }
        "email_watcher" => {
            "Completed by evidence: a matching email sent to your watcher address (see /v1/watchers). \
             It can also be completed by hand or with the links in a notification."
        }
        _ => "Completed by hand: in the app, with the links in a notification, or by replying done to an email.",
    }
}
