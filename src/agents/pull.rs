//! Pull agents: the notification is put in the user's inbox (`pending_notifications`) with its action
//! links under `actions`, like a webhook payload; the agent polls it with an API key and confirms.

use diesel::sql_types::{Jsonb, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use futures_util::future::BoxFuture;

use super::{Channel, Job, Outcome, Recipient};
use crate::db::DbPool;
use crate::notifications::links::LinkSigner;

pub struct PullInbox {
    db: DbPool,
    links: LinkSigner,
}

impl PullInbox {
    pub fn new(db: DbPool, links: LinkSigner) -> Self {
        PullInbox { db, links }
    }
}

impl Channel for PullInbox {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Recipient::Pull { subscription_id } = &job.recipient else {
                return Outcome::Failed { error: "not a pull recipient".to_owned() };
            };
            let mut payload = job.payload.clone();
            if let Some(links) = self.links.for_delivery(job.delivery_id, &job.payload, chrono::Utc::now()) {
                payload["actions"] = serde_json::json!(links);
            }
            let Ok(mut conn) = self.db.get().await else {
                return Outcome::Retry { error: "database unavailable".to_owned(), retry_after: None };
            };
            let stored = diesel::sql_query(
                "INSERT INTO pending_notifications (delivery_id, user_id, subscription_id, payload)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (delivery_id) DO NOTHING",
            )
            .bind::<SqlUuid, _>(job.delivery_id)
            .bind::<SqlUuid, _>(job.user_id)
            .bind::<SqlUuid, _>(*subscription_id)
            .bind::<Jsonb, _>(&payload)
            .execute(&mut conn)
            .await;
            match stored {
                Ok(_) => Outcome::Sent { provider_message_id: None },
                Err(err) => Outcome::Retry { error: format!("inbox write: {err}"), retry_after: None },
            }
        })
    }
}
