//! The web console (issue #19): HTTP-level tests of sessions, CSRF, escaping and errors, and browser tests
//! in headless Chromium.

mod admin;
mod billing;
mod browser;
mod channels;
mod evidence;
mod getting_started;
mod notifications;
mod occurrences;
mod pages;
mod password_reset;
mod profiles;
mod reminder_edit;
mod settings;

use std::collections::BTreeMap;

use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, SET_COOKIE};

use crate::common::{Reply, TestApp};

/// A person's browser as far as HTTP goes: a cookie jar, HTML accepted, redirects not followed.
pub struct Visitor<'a> {
    pub app: &'a TestApp,
    pub jar: BTreeMap<String, String>,
    /// Every `Set-Cookie` line seen, for the flag checks.
    pub set_cookies: Vec<String>,
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Visitor<'a> {
        Visitor { app, jar: BTreeMap::new(), set_cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn remember(&mut self, reply: &Reply) {
        for line in reply.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            self.set_cookies.push(line.to_owned());
            let pair = line.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else { continue };
            let expired = line.contains("Max-Age=0");
            if expired || value.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let request =
            self.app.client.get(self.app.url(path)).header(ACCEPT, "text/html").header(COOKIE, self.cookie_header());
        let reply = Reply::from(request.send().await.expect("GET sent")).await;
        self.remember(&reply);
        reply
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = self
            .app
            .client
            .post(self.app.url(path))
            .header(ACCEPT, "text/html")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(COOKIE, self.cookie_header())
            .body(body);
        let reply = Reply::from(request.send().await.expect("POST sent")).await;
        self.remember(&reply);
        reply
    }

    /// Signs up through the pages (zone `zone`) and returns the form token of the signed-in session.
    pub async fn sign_up(&mut self, email: &str, zone: &str) -> String {
        let form = self.get("/signup").await;
        let token = csrf_of(&form.text);
        let reply = self
            .post(
                "/signup",
                &[
                    ("csrf", &token),
                    ("email", email),
                    ("display_name", "Ada"),
                    ("password", "correct horse battery"),
                    ("timezone", zone),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(reply.status, 303, "sign-up redirects: {}", reply.text);
        assert!(self.jar.contains_key("er_session"), "a session cookie is set");
        csrf_of(&self.get("/").await.text)
    }

    /// Creates a reminder through the form; returns its id.
    pub async fn create_daily(&mut self, csrf: &str, title: &str, at: &str) -> String {
        let reply = self
            .post(
                "/reminders",
                &[
                    ("csrf", csrf),
                    ("title", title),
                    ("kind", "daily"),
                    ("daily_at", at),
                    ("profile", crate::fixtures::GENTLE),
                    ("importance", "medium"),
                ],
            )
            .await;
        assert_eq!(reply.status, 303, "{}", reply.text);
        location(&reply).trim_start_matches("/reminders/").to_owned()
    }
}

/// The first form token on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no form token in: {html}")) + marker.len();
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

pub fn location(reply: &Reply) -> String {
    reply.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

pub fn header<'r>(reply: &'r Reply, name: &str) -> &'r str {
    reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Adds `count` newer reminders ("later 1", "later 2", …, once each, a day away) beside the reminder `like`
/// of the same owner and profile: more than one page of anything that lists reminders.
pub async fn later_reminders(app: &TestApp, like: &str, count: usize) {
    let sql = format!(
        "WITH created AS ( \
           INSERT INTO reminders (user_id, title, escalation_profile_id, timezone, next_trigger_at) \
           SELECT r.user_id, 'later ' || g, r.escalation_profile_id, 'UTC', \
                  now() + interval '1 day' + g * interval '1 minute' \
           FROM reminders r, generate_series(1, {count}) AS g WHERE r.id = '{like}' RETURNING id, next_trigger_at) \
         INSERT INTO reminder_schedules (reminder_id, kind, trigger_at, timezone) \
         SELECT id, 'once', next_trigger_at, 'UTC' FROM created"
    );
    crate::fixtures::exec(app, &sql).await;
}
