//! Marketplace agents: a delivery is POSTed to the type's callback as a Standard Webhook signed with the
//! type's secret (the same body as a webhook's, plus the subscriber's config), within the type's limits —
//! its timeout, payload size, requests per minute and allowed hosts, behind the SSRF guard. A pull-only type
//! gets the delivery in the subscriber's inbox instead. Failures are counted on the type; enough in a row
//! suspend it ([`marketplace::store::record_send`]).

use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::marketplace::service::check_callback;
use super::marketplace::store;
use super::pull::PullInbox;
use super::{Channel, Job, Outcome, Recipient, ssrf, webhook};
use crate::notifications::links::LinkSigner;

/// A subscriber's settings as its agent receives them, write-only ones included (`sealed_settings`): never
/// printed, so a `{:?}` of a job cannot put a subscriber's token in a log.
#[derive(Clone)]
pub struct AgentSettings(pub serde_json::Value);

impl std::fmt::Debug for AgentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentSettings(..)")
    }
}

/// A marketplace type as a delivery needs it.
#[derive(Clone)]
pub struct AgentTarget {
    pub id: Uuid,
    pub agent_type: String,
    pub receive: bool,
    pub callback_url: Option<String>,
    pub secret: SecretString,
    pub timeout: Duration,
    pub max_payload_bytes: usize,
    pub requests_per_minute: u32,
    pub allowed_hosts: Vec<String>,
}

impl std::fmt::Debug for AgentTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTarget")
            .field("id", &self.id)
            .field("agent_type", &self.agent_type)
            .finish_non_exhaustive()
    }
}

pub struct AgentChannel {
    client: reqwest::Client,
    allow_private: bool,
    links: LinkSigner,
    inbox: PullInbox,
    /// The pool (failure counts), the rate limiter (requests per type and minute, counted in Redis across
    /// every worker, per process without it) and the mailer (a developer told of a suspension).
    state: crate::state::AppState,
}

impl AgentChannel {
    pub fn new(state: &crate::state::AppState, links: LinkSigner) -> anyhow::Result<Self> {
        let allow_private = state.config.webhook_allow_private;
        Ok(AgentChannel {
            client: ssrf::outbound_client((!allow_private).then(ssrf::resolver))?,
            allow_private,
            inbox: PullInbox::new(state.db.clone(), links.clone()),
            links,
            state: state.clone(),
        })
    }

    /// Takes one request of the type's minute, or says how long until the window ends.
    async fn admit(&self, agent: &AgentTarget) -> Result<(), Duration> {
        let key = format!("agent-type:{}", agent.id);
        let limit = u64::from(agent.requests_per_minute);
        let decision = self.state.limiter.hit(&self.state.redis, &key, limit, Duration::from_secs(60)).await;
        if decision.allowed { Ok(()) } else { Err(Duration::from_secs(decision.info.reset_secs.max(1))) }
    }

    async fn post(&self, job: &Job, agent: &AgentTarget, config: &AgentSettings) -> Outcome {
        let Some(url) = agent.callback_url.as_deref() else {
            return Outcome::Failed { error: "the agent type has no callback URL".to_owned() };
        };
        let url = match check_callback(url, &agent.allowed_hosts, self.allow_private) {
            Ok(url) => url,
            Err(why) => return Outcome::Failed { error: format!("callback URL {why}") },
        };
        let now = chrono::Utc::now();
        let mut body = webhook::body_of(job, now, self.links.for_delivery(job.delivery_id, &job.payload, now).as_ref());
        body["data"]["agentType"] = serde_json::json!(agent.agent_type);
        body["data"]["config"] = config.0.clone();
        let Ok(body) = serde_json::to_vec(&body) else {
            return Outcome::Failed { error: "payload could not be written".to_owned() };
        };
        if body.len() > agent.max_payload_bytes {
            return Outcome::Failed {
                error: format!(
                    "payload of {} bytes is over the type's {} byte limit",
                    body.len(),
                    agent.max_payload_bytes
                ),
            };
        }
        let id = job.delivery_id.to_string();
        let Some(signature) = webhook::sign(agent.secret.expose_secret(), &id, now.timestamp(), &body) else {
            return Outcome::Failed { error: "the agent type's secret is unreadable".to_owned() };
        };
        let request = self.client.post(url).timeout(agent.timeout);
        let response = webhook::signed_post(request, &id, now.timestamp(), signature, body).send().await;
        match response {
            Ok(res) => webhook::classify(res.status().as_u16(), webhook::retry_after(&res)),
            Err(err) => webhook::not_sent(&err, "callback host", &format!("{} ms", agent.timeout.as_millis())),
        }
    }

    /// Counts the result on the type (a failure in a row, or the end of a run of them).
    async fn record(&self, agent: &AgentTarget, outcome: &Outcome) {
        let failure = match outcome {
            Outcome::Sent { .. } => None,
            Outcome::Retry { error, .. } | Outcome::Failed { error } | Outcome::Gone { error } => Some(error.as_str()),
            Outcome::Unknown { .. } => return,
        };
        let recorded = async {
            let mut conn = self.state.db.get().await?;
            anyhow::Ok(store::record_send(&mut conn, agent.id, failure).await?)
        };
        match recorded.await {
            Ok(Some(suspended)) => {
                tracing::warn!(agent.r#type = %agent.agent_type, "agent type suspended after repeated failures");
                tokio::spawn(tell_developer(self.state.clone(), suspended));
            }
            Ok(None) => {}
            Err(err) => tracing::error!(error = format!("{err:#}"), "could not count an agent type's send"),
        }
    }
}

impl Channel for AgentChannel {
    fn send<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Recipient::Agent { subscription_id, agent, config } = &job.recipient else {
                return Outcome::Failed { error: "not a marketplace agent recipient".to_owned() };
            };
            if !agent.receive {
                // A pull-only type polls the subscriber's inbox, as a pull agent does.
                let inbox_job = Job { recipient: Recipient::Pull { subscription_id: *subscription_id }, ..job.clone() };
                return self.inbox.send(&inbox_job).await;
            }
            // Our own limit holding a delivery back is not the agent failing: it is not counted.
            if let Err(wait) = self.admit(agent).await {
                let retry_after = chrono::Duration::from_std(wait).ok();
                return Outcome::Retry {
                    error: "the agent type's requests per minute are used up".to_owned(),
                    retry_after,
                };
            }
            let outcome = self.post(job, agent, config).await;
            self.record(agent, &outcome).await;
            outcome
        })
    }
}

/// Emails the developer of a type the failures just suspended: what failed last, and how to come back.
async fn tell_developer(state: crate::state::AppState, agent: super::marketplace::model::AgentRow) {
    let notice = crate::accounts::users::notice::Notice {
        subject: format!("Your agent type {} was suspended", agent.agent_type),
        text: format!(
            "{} failed {} deliveries in a row, so we have suspended it: its subscribers get nothing from it \
             until it is reviewed again.\n\nThe last failure: {}\n\nWhen the callback works again, ask for \
             reactivation (PATCH /v1/marketplace/agents/{} with {{\"reactivate\": true}}).",
            agent.name,
            agent.consecutive_failures,
            agent.last_failure.as_deref().unwrap_or("unknown"),
            agent.id,
        ),
    };
    if let Err(err) = crate::accounts::users::notice::email_owner(&state, agent.developer_id, notice).await {
        tracing::error!(error = format!("{err:#}"), "could not tell a developer their agent type was suspended");
    }
}
