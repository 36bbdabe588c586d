//! The optional LLM fallback for phrases the grammar does not read (`OPENAI_API_KEY`).
//!
//! One chat-completions call with a JSON-schema answer and a 2 s budget. The model's answer is never trusted:
//! it must parse as an RFC 3339 instant and pass [`super::validate_future`], or the phrase counts as not
//! understood. Any transport or format problem also reads as "not understood" so the user gets the examples.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reminder_core::nlp::{Interpretation, PhraseError, echo, validate_future};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

/// How long the whole call may take: a snooze request must not hang on a slow provider.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Where and how to ask.
pub struct Fallback<'a> {
    pub api_key: &'a SecretString,
    /// Base URL such as `https://api.openai.com/v1` (`OPENAI_API_BASE`).
    pub api_base: &'a str,
    pub model: &'a str,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    understood: bool,
    at: Option<String>,
}

impl Fallback<'_> {
    /// Asks the model what `phrase`, said at `now` in zone `tz`, means.
    pub async fn interpret(&self, phrase: &str, now: DateTime<Utc>, tz: Tz) -> Result<Interpretation, PhraseError> {
        let content = self.ask(phrase, now, tz).await.map_err(|err| {
            // The phrase is the user's text: not logged.
            tracing::warn!(error = %err, "snooze phrase fallback gave no usable answer");
            PhraseError::NotUnderstood
        })?;
        let answer: Answer = serde_json::from_str(&content).map_err(|_| PhraseError::NotUnderstood)?;
        let at = answer.at.filter(|_| answer.understood).ok_or(PhraseError::NotUnderstood)?;
        let at = DateTime::parse_from_rfc3339(at.trim()).map_err(|_| PhraseError::NotUnderstood)?.with_timezone(&Utc);
        let at = validate_future(at, now)?;
        Ok(Interpretation { at, echo: echo(at, tz) })
    }

    async fn ask(&self, phrase: &str, now: DateTime<Utc>, tz: Tz) -> anyhow::Result<String> {
        let local_now = now.with_timezone(&tz).to_rfc3339();
        let body = json!({
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": format!(
                    "You turn a snooze phrase into one absolute future time. The user's time zone is {}; their \
                     current local time is {local_now}. Answer understood=false when the phrase does not name \
                     a time. Give `at` as RFC 3339 with an offset.", tz.name())},
                {"role": "user", "content": phrase},
            ],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "snooze_time",
                "strict": true,
                "schema": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["understood", "at"],
                    "properties": {
                        "understood": {"type": "boolean"},
                        "at": {"type": ["string", "null"], "description": "RFC 3339 instant"}
                    }
                }
            }}
        });
        let client = reqwest::Client::builder().timeout(TIMEOUT).build()?;
        let url = format!("{}/chat/completions", self.api_base.trim_end_matches('/'));
        let response =
            client.post(url).bearer_auth(self.api_key.expose_secret()).json(&body).send().await?.error_for_status()?;
        let completion: Completion = response.json().await?;
        completion
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .ok_or_else(|| anyhow::anyhow!("the answer has no content"))
    }
}
