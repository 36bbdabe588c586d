//! Accessibility in Chromium: axe-core (vendored under `tests/fixtures/axe-core/`, never in the binary) on
//! every console page with no serious or critical violation, each page without sideways scrolling at 375 px,
//! a reminder created with the keyboard alone, and an expired session that signs in back to the page wanted.
//!
//! axe is injected through WebDriver's execute script, which Chromium runs outside the page's
//! `Content-Security-Policy` (no `unsafe-inline`/`unsafe-eval` there): `audit` asserts it did load.

use std::fmt::Write as _;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::Value;

use super::{Driver, choose, click, contact_id, fill, let_it_fire, next_page, path_of, shoot, shows, sign_up, text_of};
use crate::common::TestApp;
use crate::fixtures::scalar;

const AXE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/axe-core/axe.min.js");

/// Runs axe on the page (its default rules plus WCAG 2.2's target size, which axe leaves off by default) and
/// returns the violations and the ids of the rules that passed, as JSON.
const RUN_AXE: &str = r"
const done = arguments[arguments.length - 1];
window.axe.run(document, { rules: { 'target-size': { enabled: true } } })
  .then((result) => done({
    passed: result.passes.map((p) => p.id),
    violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '')) })) }))
  .catch((err) => done({ error: String(err) }));
";

/// axe on the current page: fails with each serious or critical violation's id, impact and targets.
pub(super) async fn audit(client: &Client, name: &str) {
    let source = std::fs::read_to_string(AXE).expect("the vendored axe-core (tests/fixtures/axe-core/axe.min.js)");
    let loaded = client
        .execute(&format!("{source}\n;return typeof window.axe === 'object' && window.axe.version;"), vec![])
        .await
        .expect("axe injects");
    assert!(loaded.as_str().is_some_and(|v| v.starts_with("4.")), "axe did not load on {name}: {loaded}");
    let found = client.execute_async(RUN_AXE, vec![]).await.expect("axe runs");
    let Value::Array(violations) = found["violations"].clone() else { panic!("axe failed on {name}: {found}") };
    // The contrast rule needs the page's real colours; that it ran shows axe saw the styled page.
    let passed = found["passed"].as_array().cloned().unwrap_or_default();
    assert!(passed.iter().any(|id| id == "color-contrast") || !violations.is_empty(), "no contrast check on {name}");
    // Moderate and minor findings are printed for whoever reads the log; serious and critical ones fail.
    let (violations, lesser): (Vec<Value>, Vec<Value>) =
        violations.into_iter().partition(|v| v["impact"] == "serious" || v["impact"] == "critical");
    for v in &lesser {
        eprintln!("axe on {name}: [{}] {}: {}", v["impact"], v["id"].as_str().unwrap_or(""), v["nodes"]);
    }
    let mut report = String::new();
    for v in &violations {
        let _ = writeln!(report, "[{}] {}: {}", v["impact"], v["id"].as_str().unwrap_or(""), v["help"]);
        for node in v["nodes"].as_array().into_iter().flatten() {
            let _ = writeln!(report, "    {}", node.as_str().unwrap_or(""));
        }
    }
    let url = client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
    assert!(violations.is_empty(), "axe found serious or critical problems on {name} ({url}):\n{report}");
}

/// Goes to `path`, screenshots it at both widths (which checks 375 px for sideways scrolling) and audits it.
async fn visit(client: &Client, app: &TestApp, path: &str, name: &str) {
    client.goto(&app.url(path)).await.unwrap_or_else(|err| panic!("{path}: {err}"));
    check(client, name).await;
}

/// The current page: screenshots, no sideways scrolling at 375 px, no serious axe finding.
async fn check(client: &Client, name: &str) {
    shoot(client, &format!("a11y-{name}")).await;
    audit(client, name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_console_page_passes_axe_and_fits_a_phone() {
    let hook = crate::engine::accepting_sink().await;
    let driver = Driver::start().await;
    let outbox = std::env::temp_dir().join(format!("er-a11y-{}", uuid::Uuid::new_v4().simple()));
    let outbox_dir = outbox.to_string_lossy().into_owned();
    let app = TestApp::spawn_roles(
        "all",
        &[("DEFAULT_TIER", "PRO"), ("FEATURE_SOCIAL_ESCALATION", "true"), ("EMAIL_OUTBOX_DIR", &outbox_dir)],
    )
    .await;
    let client = driver.browser(true).await;

    visit(&client, &app, "/login", "login").await;
    visit(&client, &app, "/no/such/page", "not-found-signed-out").await;
    visit(&client, &app, "/password/forgot", "password-forgot").await;
    visit(&client, &app, "/signup", "signup").await;
    // The sign-up form with its errors next to the fields.
    fill(&client, "#email", "not an address").await;
    fill(&client, "#display_name", "Ada").await;
    fill(&client, "#password", "short").await;
    client.execute("document.querySelector('form[action=\"/signup\"]').noValidate = true", vec![]).await.unwrap();
    click(&client, "form[action='/signup'] button[type=submit]").await;
    assert!(client.find(Locator::Css("[aria-invalid=true]")).await.is_ok(), "{}", text_of(&client).await);
    check(&client, "signup-errors").await;

    sign_up(&client, &app, "a11y@example.com").await;
    check(&client, "dashboard-empty").await;
    // The page an emailed confirmation link opens (this server mails nothing, so the link is made here).
    let link = "INSERT INTO email_verifications (user_id, token_hash, expires_at) \
        SELECT id, sha256('erev_a11y'::bytea), now() + interval '1 day' FROM users WHERE email = 'a11y@example.com'";
    crate::fixtures::exec(&app, link).await;
    visit(&client, &app, "/verify-email/erev_a11y", "verify-email").await;
    client.goto(&app.url("/")).await.expect("home");
    visit(&client, &app, "/reminders", "reminders-empty").await;
    visit(&client, &app, "/reminders/new", "reminder-new").await;
    fill(&client, "#title", "").await;
    click(&client, "form[action='/reminders'] button[type=submit]").await;
    assert!(client.find(Locator::Id("title-error")).await.is_ok(), "{}", text_of(&client).await);
    check(&client, "reminder-new-errors").await;
    fill(&client, "#title", "take pills").await;
    fill(&client, "#daily_at", "21:00").await;
    click(&client, "form[action='/reminders'] button[type=submit]").await;
    let detail = path_of(&client).await;
    assert!(detail.starts_with("/reminders/"), "{detail}: {}", text_of(&client).await);
    check(&client, "reminder-detail").await;
    visit(&client, &app, &format!("{detail}/edit"), "reminder-edit").await;
    visit(&client, &app, "/reminders?q=pills", "reminders").await;
    // The form's next times replaced as a schedule is typed: an error in the live region.
    visit(&client, &app, "/reminders/new", "reminder-new-times").await;
    choose(&client, "#kind-cron").await;
    fill(&client, "#cron", "at seven").await;
    shows(&client, "upcoming-cron", "cron").await;
    check(&client, "reminder-new-live-error").await;

    let reminder = detail.trim_start_matches("/reminders/").to_owned();
    let_it_fire(&client, &app, &reminder).await;
    visit(&client, &app, "/", "dashboard-escalating").await;
    visit(&client, &app, &detail, "reminder-escalating").await;
    fill(&client, "#phrase", "when pigs fly").await;
    click(&client, "form.snooze button").await;
    assert!(client.find(Locator::Id("phrase-error")).await.is_ok(), "{}", text_of(&client).await);
    check(&client, "reminder-snooze-error").await;
    visit(&client, &app, "/notifications", "notifications").await;
    visit(&client, &app, "/notifications?reminder=pills&status=sent", "notifications-filtered").await;

    visit(&client, &app, "/channels", "channels").await;
    let url = format!("{}/hook", hook.uri());
    fill(&client, "#url", &url).await;
    click(&client, "form.add-webhook button[type=submit]").await;
    assert!(text_of(&client).await.contains("shown only this once"));
    check(&client, "channel-secret").await;
    click(&client, "form[action$='/test'] button").await;
    check(&client, "channel").await;
    // The home page's chart with a few days of deliveries.
    let seeded = format!(
        "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, \
         channel, status, created_at) SELECT gen_random_uuid(), r.id, r.user_id, 1, 0, 'subscription', \
         gen_random_uuid(), 'email', (ARRAY['sent', 'failed', 'cancelled', 'pending'])[1 + n % 4], \
         now() - n * interval '19 hours' FROM reminders r, generate_series(1, 40) AS n WHERE r.id = '{reminder}'"
    );
    crate::fixtures::exec(&app, &seeded).await;
    client.goto(&app.url("/")).await.expect("home");
    assert!(client.find(Locator::Css("svg.chart rect")).await.is_ok(), "{}", text_of(&client).await);
    check(&client, "dashboard-chart").await;

    visit(&client, &app, "/contacts", "contacts-empty").await;
    fill(&client, "#name", "Grace Hopper").await;
    fill(&client, "#email", "grace@example.com").await;
    click(&client, "form[action='/contacts'] button[type=submit]").await;
    check(&client, "contacts").await;
    let contact = contact_id(&client).await;
    visit(&client, &app, &format!("/contacts/{contact}/edit"), "contact-edit").await;
    visit(&client, &app, &format!("/contacts/{contact}/remove"), "contact-remove").await;

    visit(&client, &app, "/settings", "settings").await;
    fill(&client, "#key_name", "Home Assistant").await;
    click(&client, "form[action='/settings/api-keys'] button").await;
    check(&client, "settings-key").await;
    fill(&client, "#quiet_start", "25:00").await;
    fill(&client, "#quiet_end", "07:00").await;
    click(&client, "form[action='/settings/quiet-hours'] button[type=submit]").await;
    assert!(client.find(Locator::Id("quiet_start-error")).await.is_ok(), "{}", text_of(&client).await);
    check(&client, "settings-quiet-error").await;
    visit(&client, &app, "/profiles", "profiles").await;
    visit(&client, &app, "/profiles/new", "profile-new").await;
    visit(&client, &app, &format!("/profiles/{}", crate::fixtures::GENTLE), "profile-preset").await;
    visit(&client, &app, "/evidence", "evidence").await;
    click(&client, "form[action='/evidence/hooks'] button").await;
    assert!(text_of(&client).await.contains("shown only this once"));
    check(&client, "evidence-hook").await;
    visit(&client, &app, "/calendars", "calendars-a11y").await;
    visit(&client, &app, "/billing", "billing").await;
    visit(&client, &app, "/no/such/page", "not-found").await;

    // What the invited contact sees.
    let mail = crate::contacts::email_to(&outbox, "grace@example.com");
    let accept = crate::contacts::link(&mail, "/contacts/invitation/");
    visit(&client, &app, &accept, "contact-invitation").await;
    client.close().await.expect("session closes");
    let _ = std::fs::remove_dir_all(&outbox);
}

/// What the focused element is, for messages: its tag, id, text or name.
const DESCRIBE_FOCUS: &str = r"
const el = document.activeElement;
if (!el || el === document.body) return 'body';
const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.getAttribute('href') ? '[' + el.getAttribute('href') + ']' : '') + ' ' + text;
";

/// Whether the focused element matches `arguments[0]` and shows a focus ring a person can see: an
/// outline (or a box shadow) under `:focus-visible`, inside the window.
const FOCUS_STATE: &str = r"
const el = document.activeElement;
if (!el || el === document.body) return { matches: false, visible: false };
const style = getComputedStyle(el);
const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
const box = el.getBoundingClientRect();
const shown = box.width > 0 && box.height > 0 && box.right > 0 && box.left < innerWidth;
return { matches: el.matches(arguments[0]), visible: el.matches(':focus-visible') && ring && shown };
";

/// Presses `keys` on whatever has the focus.
async fn press(client: &Client, keys: &str) {
    let focused = client.active_element().await.expect("a focused element");
    focused.send_keys(keys).await.expect("keys");
}

/// Presses Tab (or Shift+Tab) until the focus is on `css`, checking each stop shows its focus.
async fn tab_to(client: &Client, css: &str, backwards: bool) {
    let key = if backwards { format!("{}{}", Key::Shift, Key::Tab) } else { Key::Tab.to_string() };
    let mut path = Vec::new();
    for _ in 0..40 {
        press(client, &key).await;
        let here = client.execute(DESCRIBE_FOCUS, vec![]).await.expect("focus").as_str().unwrap_or("").to_owned();
        let state = client.execute(FOCUS_STATE, vec![Value::from(css)]).await.expect("focus state");
        assert_eq!(state["visible"], true, "no visible focus on {here} (after {path:?})");
        path.push(here);
        if state["matches"] == true {
            return;
        }
    }
    panic!("Tab never reached {css}: {path:?}");
}

/// Presses Enter on the focused link or button and waits for the next page.
async fn enter(client: &Client) {
    let old = client.find(Locator::Css("body")).await.expect("a page");
    press(client, &Key::Enter.to_string()).await;
    next_page(client, &old, "Enter").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_is_created_with_the_keyboard_alone() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let client = driver.browser(true).await;
    sign_up(&client, &app, "keyboard@example.com").await;
    client.goto(&app.url("/")).await.expect("home");

    // The first Tab reaches the skip link, shown on focus; it moves the focus past the header.
    tab_to(&client, "a.skip", false).await;
    press(&client, &Key::Enter.to_string()).await;
    tab_to(&client, "main a[href='/reminders/new']", false).await;
    enter(&client).await;
    assert_eq!(path_of(&client).await, "/reminders/new");

    tab_to(&client, "#title", false).await;
    press(&client, "water the plants").await;
    // The daily choice is already made; Space on it keeps it, and its time field follows.
    tab_to(&client, "#kind-daily", false).await;
    press(&client, &Key::Space.to_string()).await;
    tab_to(&client, "#daily_at", false).await;
    press(&client, &format!("{0}{0}{0}{0}{0}07:30", Key::Backspace)).await;
    // Back up one stop and return, as someone checking their choice would.
    tab_to(&client, "#kind-daily", true).await;
    tab_to(&client, "#daily_at", false).await;
    tab_to(&client, "#importance", false).await;
    press(&client, "high").await;
    tab_to(&client, "form.reminder-form button[type=submit]", false).await;
    enter(&client).await;

    let detail = path_of(&client).await;
    assert!(detail.starts_with("/reminders/"), "{detail}: {}", text_of(&client).await);
    let text = text_of(&client).await;
    assert!(text.contains("Reminder created.") && text.contains("water the plants"), "{text}");
    assert!(text.contains("cron 30 7 * * * in Europe/Berlin"), "{text}");
    let id = detail.trim_start_matches("/reminders/");
    let sql = format!("SELECT importance AS value FROM reminders WHERE id = '{id}'");
    assert_eq!(scalar(&app, &sql).await, "high");
    client.close().await.expect("session closes");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_signs_in_back_to_the_page_wanted() {
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let client = driver.browser(true).await;
    sign_up(&client, &app, "expired@example.com").await;
    client.goto(&app.url("/")).await.expect("home");

    app.state.clock.advance(chrono::Duration::hours(13));
    client.goto(&app.url("/notifications?status=failed")).await.expect("a page after the session ended");
    assert_eq!(path_of(&client).await, "/login");
    assert!(text_of(&client).await.contains("Sign in"));
    fill(&client, "#email", "expired@example.com").await;
    fill(&client, "#password", "correct horse battery").await;
    click(&client, "form[action='/login'] button[type=submit]").await;
    let url = client.current_url().await.expect("url");
    assert_eq!((url.path(), url.query()), ("/notifications", Some("status=failed")), "back where it was");

    // A link to another site in `next` leads home instead.
    click(&client, "form.signout button").await;
    client.goto(&app.url("/login?next=%2F%2Fevil.example%2Fx")).await.expect("sign-in page");
    fill(&client, "#email", "expired@example.com").await;
    fill(&client, "#password", "correct horse battery").await;
    click(&client, "form[action='/login'] button[type=submit]").await;
    let url = client.current_url().await.expect("url");
    assert_eq!((url.host_str(), url.path()), (Some("127.0.0.1"), "/"));
    client.close().await.expect("session closes");
}
