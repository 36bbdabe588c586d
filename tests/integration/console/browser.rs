//! The console in headless Chromium through chromedriver: the core flow with and without JavaScript, a
//! `<script>` title that must not run, and screenshots of every page at 1280 and 375 px wide.
//!
//! Needs Debian's `chromium` and `chromium-driver` (CI installs them). Without them these tests fail with
//! a message saying so; they never pass by skipping.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

mod accessibility;
mod account;
mod admin;
mod calendars;
mod family;
mod profiles;
mod push;

use crate::common::{TestApp, free_port};
use crate::engine::{eventually, eventually_counts};
use crate::fixtures::scalar;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver of this test's own, on a free port, with a fresh profile directory; both go with it.
struct Driver {
    child: tokio::process::Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    async fn start() -> Driver {
        escalating_reminders::install_crypto_provider();
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the console's browser tests need Debian's chromium and chromium-driver \
                 (apt-get install -y chromium chromium-driver; package {package}). They do not skip."
            );
        }
        let port = free_port();
        let child = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            // Chromium reads its zone from TZ: the sign-up page should offer this one.
            .env("TZ", "Europe/Berlin")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir().join(format!("er-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).expect("profile directory");
        let status = format!("http://127.0.0.1:{port}/status");
        let client = reqwest::Client::new();
        eventually(Duration::from_secs(20), "chromedriver answers", || {
            let request = client.get(&status).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        Driver { child, port, profile }
    }

    /// One browser session; `javascript: false` turns scripts off for every page.
    async fn browser(&self, javascript: bool) -> Client {
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--lang=en-GB",
            "--window-size=1280,900",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        let mut prefs = json!({"intl.accept_languages": "en-GB"});
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args, "prefs": prefs},
        });
        let Value::Object(capabilities) = capabilities else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots/` (not committed).
fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"), PathBuf::from);
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

async fn number(client: &Client, script: &str) -> i64 {
    client.execute(script, vec![]).await.expect("script runs").as_i64().expect("a number")
}

/// Screenshots the current page at 1280 and 375 px wide (full height) as `<name>-<width>.png`, and checks
/// that at 375 px nothing scrolls sideways.
async fn shoot(client: &Client, name: &str) {
    for width in [1280u32, 375] {
        client.set_window_size(width, 900).await.expect("resize");
        let height = number(client, "return document.documentElement.scrollHeight").await;
        let height = u32::try_from(height.clamp(600, 4000)).unwrap_or(900) + 120;
        client.set_window_size(width, height).await.expect("resize to the page");
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_dir().join(format!("{name}-{width}.png")), png).expect("write screenshot");
        if width == 375 {
            let scroll = number(client, "return document.documentElement.scrollWidth").await;
            let client_width = number(client, "return document.documentElement.clientWidth").await;
            assert!(scroll <= client_width, "{name} scrolls sideways at 375 px: {scroll} > {client_width}");
        }
    }
    client.set_window_size(1280, 900).await.expect("resize back");
}

async fn text_of(client: &Client) -> String {
    match client.find(Locator::Css("main")).await {
        Ok(main) => main.text().await.expect("text"),
        Err(err) => panic!(
            "no <main> at {}: {err}; page: {}",
            client.current_url().await.map(|u| u.to_string()).unwrap_or_default(),
            client.source().await.unwrap_or_default().chars().take(2000).collect::<String>()
        ),
    }
}

/// The text of the element with `id` as the page shows it now ("" when there is none).
async fn text_of_id(client: &Client, id: &str) -> String {
    let script = "var e = document.getElementById(arguments[0]); return e ? e.textContent : '';";
    let text = client.execute(script, vec![Value::from(id)]).await.expect("script runs");
    text.as_str().unwrap_or_default().to_owned()
}

/// Waits until the element with `id` shows `wanted` (a script fills it a moment after typing).
async fn shows(client: &Client, id: &str, wanted: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = text_of_id(client, id).await;
        if text.contains(wanted) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "#{id} never showed {wanted:?}: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs in on the console's sign-in page as `email` (with the test password) and lands on the home page.
async fn sign_in(client: &Client, app: &crate::common::TestApp, email: &str) {
    client.goto(&app.url("/login")).await.expect("sign-in page");
    fill(client, "#email", email).await;
    fill(client, "#password", crate::accounts::PASSWORD).await;
    click(client, "form[action='/login'] button[type=submit]").await;
    assert_eq!(path_of(client).await, "/", "signed in as {email}");
}

async fn fill(client: &Client, css: &str, value: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("field {css}"));
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Clicks a submit button and waits until the next page has replaced this one (loaded, or drawn in place by
/// the script) and is fully parsed.
async fn click(client: &Client, css: &str) {
    let old = client.find(Locator::Css("body")).await.expect("a page");
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("button {css}")).click().await.expect("click");
    next_page(client, &old, &format!("clicking {css}")).await;
}

/// Waits until a new page has replaced the one whose body was `old` (after `what`) and is fully parsed.
async fn next_page(client: &Client, old: &fantoccini::elements::Element, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while old.tag_name().await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not lead to a new page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("footer"))
        .await
        .unwrap_or_else(|err| panic!("the page after {what} did not finish loading: {err}"));
}

/// Chooses a radio button (no page change).
async fn choose(client: &Client, css: &str) {
    client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("radio {css}")).click().await.expect("click");
}

async fn path_of(client: &Client) -> String {
    client.current_url().await.expect("url").path().to_owned()
}

/// Signs up through the page; returns the time zone the form offered.
async fn sign_up(client: &Client, app: &TestApp, email: &str) -> String {
    client.goto(&app.url("/signup")).await.expect("sign-up page");
    let offered = client.find(Locator::Id("timezone")).await.unwrap().prop("value").await.unwrap().unwrap_or_default();
    fill(client, "#email", email).await;
    fill(client, "#display_name", "Ada").await;
    fill(client, "#password", "correct horse battery").await;
    click(client, "form[action='/signup'] button[type=submit]").await;
    assert_eq!(path_of(client).await, "/", "signed up and home");
    offered
}

/// Moves the app's clock to `seconds` past the reminder's next trigger in steps a session outlives,
/// reloading a page between steps as a person would.
async fn let_it_fire(client: &Client, app: &TestApp, reminder: &str) {
    let sql = format!(
        "SELECT extract(epoch FROM next_trigger_at)::bigint::text AS value FROM reminders WHERE id = '{reminder}'"
    );
    let epoch: i64 = scalar(app, &sql).await.parse().expect("next trigger");
    let next = chrono::DateTime::from_timestamp(epoch, 0).expect("an instant");
    loop {
        let left = next - app.state.clock.now() + chrono::Duration::seconds(1);
        if left <= chrono::Duration::zero() {
            break;
        }
        app.state.clock.advance(left.min(chrono::Duration::hours(6)));
        client.goto(&app.url("/")).await.expect("home");
    }
    eventually_counts(app, "the reminder fires", "SELECT count(*) AS n FROM escalations WHERE status = 'active'", 1)
        .await;
}

/// Sign up → create "take pills" daily at 21:00 (its next times listed) → dashboard → detail and timeline →
/// it fires → snooze "in 30 minutes" (the echo shows) → it fires again → acknowledge → complete.
async fn core_flow(client: &Client, app: &TestApp, email: &str, screenshots: bool) {
    let offered = sign_up(client, app, email).await;
    if screenshots {
        assert_eq!(offered, "Europe/Berlin", "the script offers the browser's zone");
    } else {
        assert_eq!(offered, "UTC", "without JavaScript the zone stays UTC");
    }
    let zone = offered;

    client.goto(&app.url("/reminders/new")).await.expect("new reminder page");
    if screenshots {
        shoot(client, "reminder-new").await;
    }
    fill(client, "#title", "take pills").await;
    choose(client, "#kind-daily").await;
    fill(client, "#daily_at", "21:00").await;
    // The next five times on the user's clock: as typed with a script, by the preview button without one.
    if screenshots {
        shows(client, "upcoming-daily", ", 21:00").await;
    } else {
        click(client, "button[value=preview]").await;
        let title = client.find(Locator::Id("title")).await.expect("title").prop("value").await.expect("value");
        assert_eq!(title.as_deref(), Some("take pills"), "the preview keeps what was typed");
    }
    let listed = text_of_id(client, "upcoming-daily").await;
    assert!(listed.matches(", 21:00").count() == 5 && listed.contains(&zone), "{listed}");
    click(client, "form[action='/reminders'] button[type=submit]").await;
    let detail = path_of(client).await;
    assert!(detail.starts_with("/reminders/"), "{detail}: {}", text_of(client).await);
    let reminder = detail.trim_start_matches("/reminders/").to_owned();
    let text = text_of(client).await;
    assert!(text.contains("Reminder created.") && text.contains("take pills"), "{text}");
    assert!(text.contains(&format!("cron 0 21 * * * in {zone}")), "{text}");
    assert!(client.find(Locator::Css("svg.timeline")).await.is_ok(), "the timeline is drawn");
    if screenshots {
        shoot(client, "reminder-detail").await;
    }

    client.goto(&app.url("/")).await.expect("home");
    let home = text_of(client).await;
    assert!(home.contains("take pills") && home.contains(", 21:00"), "{home}");
    if screenshots {
        shoot(client, "dashboard").await;
        client.goto(&app.url("/reminders")).await.expect("list");
        fill(client, "#q", "pills").await;
        click(client, "form.search button").await;
        assert!(text_of(client).await.contains("take pills"));
        shoot(client, "reminders").await;
    }

    let_it_fire(client, app, &reminder).await;
    client.goto(&app.url("/")).await.expect("home");
    let home = text_of(client).await;
    assert!(home.contains("Escalating now") && home.contains("Tier 1"), "{home}");
    if screenshots {
        shoot(client, "dashboard-escalating").await;
    }
    client.goto(&app.url(&detail)).await.expect("detail");
    assert!(text_of(client).await.contains("Escalating: tier 1"));

    // Typed without a script; its quick choice with one (drawn in place).
    if screenshots {
        click(client, "form.snooze button[name=quick][value='in 30 minutes']").await;
        assert_eq!(path_of(client).await, detail);
    } else {
        fill(client, "#phrase", "in 30 minutes").await;
        click(client, "form.snooze button").await;
    }
    let text = text_of(client).await;
    assert!(text.contains("Snoozed. Interpreted as ") && text.contains(&zone), "{text}");
    assert_eq!(scalar(app, &format!("SELECT status AS value FROM reminders WHERE id = '{reminder}'")).await, "snoozed");

    // Half an hour later the snooze ends and it escalates again.
    crate::engine::advance_settled(app, chrono::Duration::minutes(31)).await;
    eventually_counts(app, "the snooze wakes", "SELECT count(*) AS n FROM escalations WHERE status = 'active'", 1)
        .await;
    client.goto(&app.url(&detail)).await.expect("detail");
    // With a script the actions redraw the page in place: what the window holds survives them.
    if screenshots {
        client.execute("window.stillHere = true;", vec![]).await.expect("script runs");
    }
    click(client, "form[action$='/acknowledge'] button").await;
    let text = text_of(client).await;
    assert!(text.contains("Acknowledged. Escalation is paused until"), "{text}");
    if screenshots {
        let kept = client.execute("return window.stillHere === true;", vec![]).await.expect("script runs");
        assert_eq!(kept, Value::Bool(true), "drawn in place, not loaded");
        assert_eq!(path_of(client).await, detail);
    }
    click(client, "form[action$='/complete'] button").await;
    let text = text_of(client).await;
    assert!(text.contains("Completed."), "{text}");
    let open = "SELECT count(*) AS n FROM escalations WHERE status IN ('active', 'acknowledged')";
    eventually_counts(app, "no open episode", open, 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_core_flow_works_in_a_browser_and_every_page_fits_a_phone() {
    let driver = Driver::start().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let client = driver.browser(true).await;
    client.goto(&app.url("/login")).await.expect("sign-in page");
    shoot(&client, "login").await;
    client.goto(&app.url("/signup")).await.expect("sign-up page");
    shoot(&client, "signup").await;

    core_flow(&client, &app, "browser@example.com", true).await;
    let detail = path_of(&client).await;
    shoot(&client, "reminder-detail-done").await;
    assert!(detail.starts_with("/reminders/"));

    client.goto(&app.url("/settings")).await.expect("settings");
    fill(&client, "#key_name", "Home Assistant").await;
    click(&client, "form[action='/settings/api-keys'] button").await;
    let text = text_of(&client).await;
    assert!(text.contains("shown only this once"), "{text}");
    shoot(&client, "settings").await;

    click(&client, "form.signout button").await;
    assert_eq!(path_of(&client).await, "/login");
    assert!(text_of(&client).await.contains("You are signed out."));

    client.goto(&app.url("/no/such/page")).await.expect("404 page");
    assert!(text_of(&client).await.contains("Page not found"));
    shoot(&client, "not-found").await;
    client.close().await.expect("session closes");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_core_flow_works_with_javascript_off() {
    let driver = Driver::start().await;
    let app = TestApp::spawn_roles("all", &[]).await;
    let client = driver.browser(false).await;
    core_flow(&client, &app, "nojs@example.com", false).await;
    client.close().await.expect("session closes");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_in_a_title_never_runs() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let client = driver.browser(true).await;
    sign_up(&client, &app, "alert@example.com").await;
    client.goto(&app.url("/reminders/new")).await.expect("new reminder page");
    fill(&client, "#title", "<script>alert(1)</script>").await;
    click(&client, "form[action='/reminders'] button[type=submit]").await;
    for path in [path_of(&client).await, "/".to_owned(), "/reminders".to_owned()] {
        client.goto(&app.url(&path)).await.expect("page");
        assert!(client.get_alert_text().await.is_err(), "an alert dialog opened on {path}");
        assert!(text_of(&client).await.contains("<script>alert(1)</script>"), "the title shows as text on {path}");
    }
    client.close().await.expect("session closes");
}

/// Channels in a browser: add a webhook through the page (its secret shows once), send a test that the
/// sink receives, add an email address that waits for its code; screenshots of the pages when asked.
async fn channels_flow(javascript: bool) {
    let hook = crate::engine::accepting_sink().await;
    let smtp = crate::common::smtp::SmtpSink::start().await;
    let driver = Driver::start().await;
    let limits = r#"{"FREE": {"channels": 5}}"#;
    let app = TestApp::spawn_with(&[("SMTP_URL", &smtp.url()), ("TIER_LIMITS", limits)]).await;
    let client = driver.browser(javascript).await;
    let screenshots = javascript;
    sign_up(&client, &app, "channels-browser@example.com").await;
    crate::fixtures::confirm_own_address(&app, "channels-browser@example.com").await;
    let home = text_of(&client).await;
    assert!(home.contains("Set up a channel"), "{home}");
    client.find(Locator::LinkText("Channels")).await.expect("the nav links to Channels").click().await.expect("click");
    client.wait().for_element(Locator::Css("form.add-webhook")).await.expect("the channels page");
    assert_eq!(path_of(&client).await, "/channels");
    if screenshots {
        shoot(&client, "channels-empty").await;
    }

    let url = format!("{}/hook", hook.uri());
    fill(&client, "#url", &url).await;
    click(&client, "form.add-webhook button[type=submit]").await;
    let text = text_of(&client).await;
    assert!(text.contains("shown only this once") && text.contains(&url), "{text}");
    if screenshots {
        shoot(&client, "channel-webhook-secret").await;
    }
    click(&client, "form[action$='/test'] button").await;
    let text = text_of(&client).await;
    assert!(text.contains("Test sent."), "{text}");
    assert!(!text.contains("shown only this once"), "the secret is gone");
    let requests = hook.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1, "the sink received the test");
    if screenshots {
        shoot(&client, "channel-webhook").await;
    }

    client.goto(&app.url("/channels")).await.expect("channels");
    fill(&client, "#address", "phone-inbox@example.net").await;
    click(&client, "form.add-email button[type=submit]").await;
    let text = text_of(&client).await;
    assert!(text.contains("We sent a 6-digit code") && text.contains("Enter the code"), "{text}");
    assert_eq!(smtp.received_by("phone-inbox@example.net").len(), 1, "the code was mailed");
    if screenshots {
        shoot(&client, "channel-email-waiting").await;
    }

    client.goto(&app.url("/channels")).await.expect("channels");
    let text = text_of(&client).await;
    assert!(text.contains(&url) && text.contains("Ready") && text.contains("Waiting for its code"), "{text}");
    if screenshots {
        shoot(&client, "channels").await;
    }
    client.close().await.expect("session closes");
}

#[tokio::test(flavor = "multi_thread")]
async fn channels_are_added_and_tested_in_a_browser() {
    channels_flow(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn channels_are_added_and_tested_with_javascript_off() {
    channels_flow(false).await;
}

/// Invite a contact on /contacts → the contact opens the emailed invitation in the browser and accepts →
/// /contacts shows them as accepted; screenshots of /contacts at both widths.
#[tokio::test(flavor = "multi_thread")]
async fn a_contact_invited_on_the_page_accepts_in_the_browser() {
    let driver = Driver::start().await;
    let (app, outbox) = crate::contacts::spawn("PRO", "true").await;
    let client = driver.browser(true).await;
    sign_up(&client, &app, "contacts-browser@example.com").await;
    client.goto(&app.url("/contacts")).await.expect("contacts page");
    shoot(&client, "contacts-empty").await;
    fill(&client, "#name", "Grace Hopper").await;
    fill(&client, "#email", "grace@example.com").await;
    fill(&client, "#relationship", "aunt").await;
    fill(&client, "#timezone", "America/New_York").await;
    fill(&client, "#quiet_start", "22:00").await;
    fill(&client, "#quiet_end", "07:00").await;
    click(&client, "form[action='/contacts'] button[type=submit]").await;
    assert_eq!(path_of(&client).await, "/contacts");
    let text = text_of(&client).await;
    assert!(text.contains("Grace Hopper is invited.") && text.contains("invited"), "{text}");

    let mail = crate::contacts::email_to(&outbox, "grace@example.com");
    let accept = crate::contacts::link(&mail, "/contacts/invitation/");
    client.goto(&app.url(&accept)).await.expect("invitation page");
    shoot(&client, "contact-invitation").await;
    let button = client.find(Locator::Css("button[value=accept]")).await.expect("an accept button");
    let old = client.find(Locator::Css("html")).await.expect("a page");
    button.click().await.expect("click");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while old.tag_name().await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "accepting did not lead to a new page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = client.find(Locator::Css("body")).await.expect("body").text().await.expect("text");
    assert!(body.contains("now a trusted contact"), "{body}");
    shoot(&client, "contact-accepted").await;

    client.goto(&app.url("/contacts")).await.expect("contacts page");
    let text = text_of(&client).await;
    assert!(text.contains("accepted") && text.contains("America/New_York, quiet 22:00–07:00"), "{text}");
    shoot(&client, "contacts").await;
    client.goto(&app.url(&format!("/contacts/{}/remove", contact_id(&client).await))).await.expect("confirm");
    shoot(&client, "contact-remove").await;
    client.close().await.expect("session closes");
}

/// The id in the first contact's remove link on the current page.
async fn contact_id(client: &Client) -> String {
    let source = client.source().await.expect("source");
    let at = source.find("/remove\"").expect("a remove link");
    source[..at].rsplit('/').next().unwrap_or_default().to_owned()
}
