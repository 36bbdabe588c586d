//! The console over plain HTTP: sessions, form tokens, escaping, tenant isolation, errors.

use super::{Visitor, csrf_of, header, location};
use crate::common::TestApp;
use crate::fixtures::scalar;

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar(app, &format!("SELECT ({sql})::text AS value")).await.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_without_or_with_a_wrong_form_token_is_403_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("csrf@example.com", "UTC").await;
    let id = ada.create_daily(&csrf, "Water the plants", "08:00").await;
    let reminders = "SELECT count(*) FROM reminders";
    assert_eq!(count(&app, reminders).await, 1);

    let fields = |token: &'static str| {
        vec![
            ("csrf", token),
            ("title", "Sneaky"),
            ("kind", "daily"),
            ("daily_at", "09:00"),
            ("profile", crate::fixtures::GENTLE),
        ]
    };
    for token in ["", "not-the-token"] {
        let fields = fields(token);
        let fields: Vec<(&str, &str)> =
            fields.iter().filter(|(k, v)| !(*k == "csrf" && v.is_empty())).copied().collect();
        let reply = ada.post("/reminders", &fields).await;
        assert_eq!(reply.status, 403, "{}", reply.text);
        assert!(reply.content_type().starts_with("text/html"), "a page, not JSON");
        assert!(reply.text.contains("Nothing was changed"), "{}", reply.text);
        let reply = ada.post(&format!("/reminders/{id}/complete"), &[("csrf", token)]).await;
        assert_eq!(reply.status, 403);
        let reply = ada.post(&format!("/reminders/{id}/snooze"), &[("csrf", token), ("phrase", "in 1 hour")]).await;
        assert_eq!(reply.status, 403);
        let reply = ada.post("/settings/timezone", &[("csrf", token), ("timezone", "Asia/Tokyo")]).await;
        assert_eq!(reply.status, 403);
        let reply = ada.post("/logout", &[("csrf", token)]).await;
        assert_eq!(reply.status, 403);
    }
    assert_eq!(count(&app, reminders).await, 1, "no reminder was created");
    assert_eq!(count(&app, "SELECT count(*) FROM reminders WHERE status = 'active'").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM users WHERE timezone = 'UTC'").await, 1);
    assert_eq!(ada.get("/").await.status, 200, "the session survived the refused sign-out");

    // Another session's token does not do either.
    let mut bob = Visitor::new(&app);
    let bobs = bob.sign_up("csrf-bob@example.com", "UTC").await;
    assert_eq!(ada.post("/settings/timezone", &[("csrf", &bobs), ("timezone", "Asia/Tokyo")]).await.status, 403);

    // The sign-in form has a token too, bound to a cookie of its own.
    let mut stranger = Visitor::new(&app);
    let reply = stranger.post("/login", &[("email", "csrf@example.com"), ("password", "correct horse battery")]).await;
    assert_eq!(reply.status, 403);
    assert!(!stranger.jar.contains_key("er_session"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_in_a_title_is_shown_as_text() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("xss@example.com", "UTC").await;
    let id = ada.create_daily(&csrf, "<script>alert(1)</script>", "21:00").await;
    for path in ["/".to_owned(), "/reminders".to_owned(), format!("/reminders/{id}")] {
        let page = ada.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{path}: {}", page.text);
        assert!(!page.text.contains("<script>alert(1)"), "{path} is not escaped");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_reminder_is_not_found() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("owner@example.com", "UTC").await;
    let id = ada.create_daily(&csrf, "Private", "07:00").await;
    let mut eve = Visitor::new(&app);
    let eves = eve.sign_up("eve@example.com", "UTC").await;

    let page = eve.get(&format!("/reminders/{id}")).await;
    assert_eq!(page.status, 404);
    assert!(page.content_type().starts_with("text/html"));
    assert!(!page.text.contains("Private"));
    let snooze = eve.post(&format!("/reminders/{id}/snooze"), &[("csrf", &eves), ("phrase", "in 1 hour")]).await;
    assert_eq!(snooze.status, 404);
    assert_eq!(eve.post(&format!("/reminders/{id}/complete"), &[("csrf", &eves)]).await.status, 404);
    assert_eq!(eve.get("/reminders/not-a-uuid").await.status, 404);
    assert_eq!(count(&app, "SELECT count(*) FROM reminders WHERE status = 'active'").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_httponly_samesite_lax_and_pages_carry_a_strict_csp() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("flags@example.com", "UTC").await;
    let session = ada.set_cookies.iter().find(|c| c.starts_with("er_session=")).expect("session cookie").clone();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
    assert!(!session.contains("Secure"), "plain http in tests: {session}");

    let page = ada.get("/").await;
    let csp = header(&page, "content-security-policy");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "same-origin");
    assert!(page.text.contains("<main"), "landmarks");

    // Assets: hashed names, cached for ever; an unknown one is a 404.
    let css = page.text.split("href=\"/assets/app.").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let asset = ada.get(&format!("/assets/app.{css}")).await;
    assert_eq!(asset.status, 200);
    assert_eq!(header(&asset, "cache-control"), "public, max-age=31536000, immutable");
    assert!(header(&asset, "content-type").starts_with("text/css"));
    assert_eq!(ada.get("/assets/app.0000.css").await.status, 404);
    // Installable: the manifest's icons (SVG, and the PNGs Android's installer wants) and iOS's home screen icon
    // are served as PNGs of the sizes they claim.
    let manifest = ada.get("/manifest.webmanifest").await;
    let manifest: serde_json::Value = serde_json::from_str(&manifest.text).unwrap();
    let apple = page.text.split("rel=\"apple-touch-icon\" href=\"").nth(1).unwrap().split('"').next().unwrap();
    let mut icons: Vec<(String, String)> = manifest["icons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|icon| (icon["src"].as_str().unwrap().to_owned(), icon["sizes"].as_str().unwrap().to_owned()))
        .collect();
    icons.push((apple.to_owned(), "180x180".to_owned()));
    let purposes: Vec<&str> =
        manifest["icons"].as_array().unwrap().iter().filter_map(|i| i["purpose"].as_str()).collect();
    assert!(purposes.contains(&"maskable"), "{manifest}");
    for (src, sizes) in icons.iter().filter(|(_, sizes)| sizes != "any") {
        let icon = app.client.get(app.url(src)).send().await.unwrap();
        assert_eq!(icon.headers()["content-type"], "image/png", "{src}");
        let bytes = icon.bytes().await.unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{src}");
        // The IHDR chunk: width and height, big-endian, at bytes 16..24.
        let side = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(format!("{}x{}", side(16), side(20)), *sizes, "{src}");
    }

    // Served over https, the cookie is Secure.
    let https = TestApp::spawn_with(&[("API_URL", "https://reminders.example.com")]).await;
    let mut bob = Visitor::new(&https);
    bob.sign_up("secure@example.com", "UTC").await;
    let session = bob.set_cookies.iter().find(|c| c.starts_with("er_session=")).unwrap();
    assert!(session.contains("; Secure"), "{session}");
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("signout@example.com", "UTC").await;
    let old = ada.jar.clone();
    let reply = ada.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/login"));
    assert!(!ada.jar.contains_key("er_session"), "the cookie is cleared");
    assert_eq!(count(&app, "SELECT count(*) FROM console_sessions").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM refresh_sessions WHERE revoked_at IS NULL").await, 0);

    // The old cookie, replayed, no longer opens anything.
    let mut replay = Visitor::new(&app);
    replay.jar = old;
    let page = replay.get("/settings").await;
    assert_eq!(page.status, 303);
    assert_eq!(location(&page), "/login?next=%2Fsettings");
    assert_eq!(replay.post("/settings/timezone", &[("csrf", &csrf), ("timezone", "Asia/Tokyo")]).await.status, 303);
    assert_eq!(count(&app, "SELECT count(*) FROM users WHERE timezone = 'UTC'").await, 1);

    // Signing in again opens a new session with a new id.
    let form = ada.get("/login").await;
    assert!(form.text.contains("You are signed out."), "the flash shows once");
    let token = csrf_of(&form.text);
    let reply = ada
        .post(
            "/login",
            &[("csrf", &token), ("email", "signout@example.com"), ("password", "correct horse battery"), ("next", "/")],
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    assert_ne!(ada.jar.get("er_session"), replay.jar.get("er_session"));
    assert_eq!(ada.get("/").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_idle_session_goes_to_sign_in_and_comes_back() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("idle@example.com", "UTC").await;

    // Twelve idle hours end the session; the page asked for is where sign-in leads back to.
    app.state.clock.advance(chrono::Duration::hours(13));
    let page = ada.get("/reminders?q=pills").await;
    assert_eq!(page.status, 303);
    assert_eq!(location(&page), "/login?next=%2Freminders%3Fq%3Dpills");

    let form = ada.get(&location(&page)).await;
    assert_eq!(form.status, 200);
    let token = csrf_of(&form.text);
    assert!(form.text.contains("value=\"/reminders?q=pills\""), "next is kept in the form");
    let reply = ada
        .post(
            "/login",
            &[
                ("csrf", &token),
                ("email", "idle@example.com"),
                ("password", "correct horse battery"),
                ("next", "/reminders?q=pills"),
            ],
        )
        .await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/reminders?q=pills"));
    assert_eq!(count(&app, "SELECT count(*) FROM console_sessions").await, 1, "the idle one is forgotten");

    // Only local paths are followed.
    for next in ["https://evil.example/", "//evil.example/x", "/\\evil.example"] {
        let token = csrf_of(&ada.get("/login").await.text);
        let reply = ada
            .post(
                "/login",
                &[
                    ("csrf", &token),
                    ("email", "idle@example.com"),
                    ("password", "correct horse battery"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(location(&reply), "/", "{next}");
    }
    // A wrong password keeps the typed email and says so.
    let token = csrf_of(&ada.get("/login").await.text);
    let reply =
        ada.post("/login", &[("csrf", &token), ("email", "idle@example.com"), ("password", "wrong password!")]).await;
    assert_eq!(reply.status, 401);
    assert!(reply.text.contains("value=\"idle@example.com\"") && reply.text.contains("do not match"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_pages_are_html_for_browsers_and_the_api_stays_json() {
    let app = TestApp::spawn().await;
    let mut visitor = Visitor::new(&app);
    let page = visitor.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.content_type().starts_with("text/html") && page.text.contains("Page not found"));
    assert!(page.text.contains("There is nothing at this address"), "{}", page.text);
    assert!(header(&page, "content-security-policy").contains("default-src 'self'"));
    let api = visitor.get("/v1/no/such/route").await;
    api.assert_error(404, "NOT_FOUND");
    app.get("/no/such/page", None).await.assert_error(404, "NOT_FOUND");
    // A page that needs a session redirects rather than answering JSON.
    assert_eq!(location(&visitor.get("/").await), "/login?next=%2F");
}

#[tokio::test(flavor = "multi_thread")]
async fn form_errors_sit_next_to_their_fields_and_keep_what_was_typed() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("forms@example.com", "UTC").await;
    let reply = ada
        .post(
            "/reminders",
            &[
                ("csrf", &csrf),
                ("title", "Backups & more"),
                ("kind", "cron"),
                ("cron", "every tuesday"),
                ("profile", crate::fixtures::GENTLE),
            ],
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("value=\"Backups &amp; more\""), "the title is kept");
    assert!(reply.text.contains("value=\"every tuesday\""), "the cron is kept");
    assert!(reply.text.contains("id=\"cron-error\""), "the error is next to the cron field");
    assert!(reply.text.contains("aria-describedby=\"cron-error\""));

    let reply = ada
        .post(
            "/reminders",
            &[
                ("csrf", &csrf),
                ("title", ""),
                ("kind", "daily"),
                ("daily_at", "21:00"),
                ("profile", crate::fixtures::GENTLE),
            ],
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("id=\"title-error\""), "{}", reply.text);

    // A snooze phrase that cannot be read says what works and keeps the phrase.
    let id = ada.create_daily(&csrf, "Stretch", "10:00").await;
    let reply = ada.post(&format!("/reminders/{id}/snooze"), &[("csrf", &csrf), ("phrase", "when pigs fly")]).await;
    assert_eq!(reply.status, 422);
    assert!(reply.text.contains("value=\"when pigs fly\"") && reply.text.contains("id=\"phrase-error\""));

    // Sign-up errors too.
    let mut bob = Visitor::new(&app);
    let token = csrf_of(&bob.get("/signup").await.text);
    let reply = bob
        .post(
            "/signup",
            &[
                ("csrf", &token),
                ("email", "forms@example.com"),
                ("display_name", "Bob"),
                ("password", "short"),
                ("timezone", "Mars/Olympus"),
            ],
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("id=\"password-error\"") && reply.text.contains("id=\"timezone-error\""));
    assert!(reply.text.contains("value=\"Mars/Olympus\"") && !reply.text.contains("value=\"short\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_sign_ins_get_a_friendly_429_page() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_AUTH_PER_MINUTE", "2")]).await;
    let mut visitor = Visitor::new(&app);
    let mut last = None;
    for _ in 0..3 {
        let token = csrf_of(&visitor.get("/login").await.text);
        last = Some(
            visitor
                .post("/login", &[("csrf", &token), ("email", "nobody@example.com"), ("password", "whatever123")])
                .await,
        );
    }
    let reply = last.unwrap();
    assert_eq!(reply.status, 429);
    assert!(reply.content_type().starts_with("text/html") && reply.text.contains("Slow down"), "{}", reply.text);
    assert!(!header(&reply, "retry-after").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_time_zone_moves_the_times_and_api_keys_show_once() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("zone@example.com", "UTC").await;
    let id = ada.create_daily(&csrf, "Take pills", "21:00").await;
    assert!(ada.get(&format!("/reminders/{id}")).await.text.contains(", 21:00"));
    let reply = ada.post("/settings/timezone", &[("csrf", &csrf), ("timezone", "Asia/Tokyo")]).await;
    assert_eq!(reply.status, 303);
    let settings = ada.get("/settings").await;
    assert!(settings.text.contains("Time zone changed to Asia/Tokyo"));
    let detail = ada.get(&format!("/reminders/{id}")).await;
    assert!(detail.text.contains(", 06:00") && !detail.text.contains(", 21:00"), "21:00 UTC is 06:00 in Tokyo");
    let bad = ada.post("/settings/timezone", &[("csrf", &csrf), ("timezone", "Nowhere/Land")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("value=\"Nowhere/Land\"") && bad.text.contains("id=\"timezone-error\""));

    let created = ada.post("/settings/api-keys", &[("csrf", &csrf), ("name", "Home <b>")]).await;
    assert_eq!(created.status, 200);
    let secret = created.text.split("value=\"esk_live_").nth(1).unwrap().split('"').next().unwrap();
    let key = format!("esk_live_{secret}");
    assert!(created.text.contains("Home &lt;b&gt;"));
    let me = app.client.get(app.url("/v1/users/me")).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert!(!ada.get("/settings").await.text.contains(&key), "shown once");
    let key_id = scalar(&app, "SELECT id::text AS value FROM api_keys").await;
    let revoked = ada.post(&format!("/settings/api-keys/{key_id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, 303);
    let me = app.client.get(app.url("/v1/users/me")).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(me.status(), 401);
}

/// The id of the contact named `name` on the contacts page (from its remove link).
fn contact_on(page: &str, name: &str) -> Option<String> {
    let marker = format!("aria-label=\"Remove {name}\"");
    let at = page.find(&marker)?;
    let href = page[..at].rfind("href=\"/contacts/")? + "href=\"/contacts/".len();
    Some(page[href..].split('/').next()?.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contacts_page_invites_edits_and_removes_through_the_api_rules() {
    let (app, outbox) = crate::contacts::spawn("PRO", "true").await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("contacts@example.com", "Europe/Berlin").await;
    let page = ada.get("/contacts").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("href=\"/contacts\" aria-current=\"page\">Contacts</a>"), "in the nav");
    assert!(page.text.contains("No trusted contacts yet."));

    // Errors sit next to their fields and what was typed stays; nothing is sent.
    let typed = [
        ("csrf", csrf.as_str()),
        ("name", "Bob <b>"),
        ("email", "bob@example.com"),
        ("phone", ""),
        ("relationship", "brother"),
        ("timezone", "Mars/Olympus"),
        ("quiet_start", "22:00"),
        ("quiet_end", "22:00"),
    ];
    let refused = ada.post("/contacts", &typed).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.text.contains("id=\"timezone-error\""), "{}", refused.text);
    assert!(refused.text.contains("id=\"quiet_end-error\">start and end must differ"), "{}", refused.text);
    assert!(refused.text.contains("value=\"Bob &lt;b&gt;\"") && refused.text.contains("value=\"Mars/Olympus\""));
    let half = ada
        .post(
            "/contacts",
            &[("csrf", csrf.as_str()), ("name", "Bob"), ("email", "bob@example.com"), ("quiet_start", "22:00")],
        )
        .await;
    assert_eq!(half.status, 400);
    assert!(half.text.contains("id=\"quiet_end-error\""), "{}", half.text);
    assert_eq!(count(&app, "SELECT count(*) FROM trusted_contacts").await, 0);

    // Invite → listed as invited, the invitation goes out, the zone and quiet hours are the contact's own.
    let mut good = typed;
    good[5] = ("timezone", "America/New_York");
    good[7] = ("quiet_end", "07:00");
    let invited = ada.post("/contacts", &good).await;
    assert_eq!((invited.status, location(&invited).as_str()), (303, "/contacts"), "{}", invited.text);
    let list = ada.get("/contacts").await;
    assert!(list.text.contains("is invited."), "the flash");
    assert!(list.text.contains("Bob &lt;b&gt;") && list.text.contains(">invited</span>"), "{}", list.text);
    assert!(list.text.contains("America/New_York, quiet 22:00–07:00"), "{}", list.text);
    let mail = crate::contacts::email_to(&outbox, "bob@example.com");
    assert!(mail.contains("asks you to be a trusted contact"));
    let id = contact_on(&list.text, "Bob &lt;b&gt;").expect("a remove link");
    let zone = format!("SELECT timezone FROM trusted_contacts WHERE id = '{id}'");

    // Edit the zone and quiet hours: no new invitation; blank returns them to mine.
    let edit = ada.get(&format!("/contacts/{id}/edit")).await;
    assert!(edit.status == 200 && edit.text.contains("value=\"America/New_York\""), "{}", edit.text);
    let saved = ada
        .post(
            &format!("/contacts/{id}/edit"),
            &[("csrf", &csrf), ("timezone", "Asia/Tokyo"), ("quiet_start", "23:00"), ("quiet_end", "06:30")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    assert!(ada.get("/contacts").await.text.contains("Asia/Tokyo, quiet 23:00–06:30"));
    let bad = ada.post(&format!("/contacts/{id}/edit"), &[("csrf", &csrf), ("timezone", "Nowhere/Land")]).await;
    assert!(
        bad.status == 400 && bad.text.contains("id=\"timezone-error\"") && bad.text.contains("value=\"Nowhere/Land\"")
    );
    let cleared = ada
        .post(
            &format!("/contacts/{id}/edit"),
            &[("csrf", &csrf), ("timezone", ""), ("quiet_start", ""), ("quiet_end", "")],
        )
        .await;
    assert_eq!(cleared.status, 303);
    assert!(ada.get("/contacts").await.text.contains("Same time zone and quiet hours as yours."));
    assert_eq!(crate::contacts::emails_to(&outbox, "bob@example.com"), 1, "no second invitation");

    // Another user's contact is not found, to see, edit or remove.
    let mut eve = Visitor::new(&app);
    let eves = eve.sign_up("contacts-eve@example.com", "UTC").await;
    for path in
        [format!("/contacts/{id}/edit"), format!("/contacts/{id}/remove"), "/contacts/not-a-uuid/edit".to_owned()]
    {
        let reply = eve.get(&path).await;
        assert!(reply.status == 404 && reply.text.contains("Page not found"), "{path}: {}", reply.text);
    }
    assert_eq!(eve.post(&format!("/contacts/{id}/remove"), &[("csrf", &eves)]).await.status, 404);
    assert_eq!(eve.post(&format!("/contacts/{id}/edit"), &[("csrf", &eves), ("timezone", "UTC")]).await.status, 404);
    assert!(!eve.get("/contacts").await.text.contains("bob@example.com"));

    // Without the form token: 403, nothing changed.
    for token in ["", "not-the-token"] {
        let fields = |extra: &[(&'static str, &'static str)]| {
            let mut fields: Vec<(&str, &str)> = extra.to_vec();
            if !token.is_empty() {
                fields.push(("csrf", token));
            }
            fields
        };
        let invite = ada.post("/contacts", &fields(&[("name", "Sneaky"), ("email", "sneaky@example.com")])).await;
        assert!(invite.status == 403 && invite.text.contains("Nothing was changed"), "{}", invite.text);
        assert_eq!(ada.post(&format!("/contacts/{id}/edit"), &fields(&[("timezone", "UTC")])).await.status, 403);
        assert_eq!(ada.post(&format!("/contacts/{id}/remove"), &fields(&[])).await.status, 403);
    }
    assert_eq!(count(&app, "SELECT count(*) FROM trusted_contacts").await, 1);
    assert_eq!(scalar(&app, &format!("SELECT coalesce(({zone}), 'none') AS value")).await, "none");
    assert_eq!(crate::contacts::emails_to(&outbox, "sneaky@example.com"), 0);

    // Remove: a confirm page first (a plain link and a form), then gone.
    let confirm = ada.get(&format!("/contacts/{id}/remove")).await;
    assert!(confirm.status == 200 && confirm.text.contains("Remove Bob &lt;b&gt;?"), "{}", confirm.text);
    assert_eq!(count(&app, "SELECT count(*) FROM trusted_contacts").await, 1, "asking changes nothing");
    let removed = ada.post(&format!("/contacts/{id}/remove"), &[("csrf", &csrf)]).await;
    assert_eq!((removed.status, location(&removed).as_str()), (303, "/contacts"));
    let list = ada.get("/contacts").await;
    assert!(list.text.contains("Contact removed.") && !list.text.contains("bob@example.com"), "{}", list.text);
    assert_eq!(count(&app, "SELECT count(*) FROM trusted_contacts").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_social_escalation_off_there_is_no_contacts_page() {
    let (app, _outbox) = crate::contacts::spawn("PRO", "false").await;
    let mut ada = Visitor::new(&app);
    ada.sign_up("nocontacts@example.com", "UTC").await;
    assert!(!ada.get("/").await.text.contains("href=\"/contacts\""), "no nav link");
    assert_eq!(ada.get("/contacts").await.status, 404);
}

/// With more reminders than one page of the list, the home page still finds the soonest among all of them
/// (the oldest here) and names the reminder of every recent delivery, and the list pages to the oldest.
#[tokio::test(flavor = "multi_thread")]
async fn the_home_page_and_the_list_reach_every_reminder_not_one_page_of_them() {
    let app = TestApp::spawn_with(&[("DEFAULT_TIER", "PRO")]).await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("many@example.com", "UTC").await;
    let soonest = ada.create_daily(&csrf, "the oldest and soonest", "00:00").await;
    let statements = [
        format!(
            "UPDATE reminders SET next_trigger_at = now() + interval '1 minute', created_at = now() - interval '1 day' \
             WHERE id = '{soonest}'"
        ),
        format!(
            "INSERT INTO deliveries (escalation_id, reminder_id, user_id, tier, loop_index, target_kind, target_id, \
               channel, status, created_at, sent_at) \
             SELECT gen_random_uuid(), id, user_id, 1, 0, 'subscription', gen_random_uuid(), 'email', 'sent', now(), \
               now() FROM reminders WHERE id = '{soonest}'"
        ),
    ];
    super::later_reminders(&app, &soonest, 120).await;
    for sql in &statements {
        crate::fixtures::exec(&app, sql).await;
    }
    let home = ada.get("/").await;
    assert_eq!(home.status, 200);
    let due = &home.text[home.text.find("Due next").expect("due next")..];
    let (first, later) = (due.find("the oldest and soonest"), due.find("later 1<"));
    assert!(first.is_some() && later.is_some() && first < later, "soonest first: {due}");
    let recent = &home.text[home.text.find("Recent deliveries").expect("recent")..];
    assert!(recent.contains("the oldest and soonest") && !recent.contains("(archived reminder)"), "{recent}");

    let list = ada.get("/reminders").await;
    assert!(
        list.text.contains("Showing 1–100 of 121") && !list.text.contains("the oldest and soonest"),
        "{}",
        list.text
    );
    assert!(list.text.contains("href=\"/reminders?page=2\""), "a link to the older ones");
    let older = ada.get("/reminders?page=2").await;
    assert!(older.text.contains("Showing 101–121 of 121") && older.text.contains("the oldest and soonest"));
    assert!(older.text.contains("href=\"/reminders?page=1\"") && !older.text.contains("page=3"));
    let searched = ada.get("/reminders?q=later&page=2").await;
    assert!(searched.text.contains("Showing 101–120 of 120"), "{}", searched.text);
    assert_eq!(ada.get("/reminders?page=abc").await.status, 200);
}

/// The list's filters: status (archived ones only when asked for), importance and the title search together,
/// kept in the form and in the page links; a status that does not exist is an error by its field.
#[tokio::test(flavor = "multi_thread")]
async fn the_list_filters_by_status_and_importance_with_the_search() {
    let app = TestApp::spawn_with(&[("DEFAULT_TIER", "PRO")]).await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("filters@example.com", "UTC").await;
    let pills = ada.create_daily(&csrf, "take pills", "21:00").await;
    let vitamins = ada.create_daily(&csrf, "take vitamins", "08:00").await;
    ada.create_daily(&csrf, "water the plants", "07:00").await;
    let sql = format!("UPDATE reminders SET importance = 'critical' WHERE id IN ('{pills}', '{vitamins}')");
    crate::fixtures::exec(&app, &sql).await;
    crate::fixtures::exec(&app, &format!("UPDATE reminders SET status = 'archived' WHERE id = '{vitamins}'")).await;

    let critical = ada.get("/reminders?importance=critical").await;
    assert!(critical.text.contains(">take pills</a>") && !critical.text.contains(">take vitamins</a>"));
    assert!(
        !critical.text.contains(">water the plants</a>")
            && critical.text.contains("<option value=\"critical\" selected>")
    );
    let archived = ada.get("/reminders?status=archived&importance=critical&q=take").await;
    assert!(
        archived.text.contains(">take vitamins</a>") && !archived.text.contains(">take pills</a>"),
        "{}",
        archived.text
    );
    assert!(archived.text.contains("<option value=\"archived\" selected>") && archived.text.contains("value=\"take\""));
    let none = ada.get("/reminders?status=completed").await;
    assert!(none.text.contains("No reminder matches these filters."), "{}", none.text);
    let bad = ada.get("/reminders?status=lost").await;
    assert!(bad.text.contains("id=\"status-error\"") && !bad.text.contains(">take pills</a>"), "{}", bad.text);
}

/// The home page's 30-day chart counts deliveries by local day and outcome (older ones left out), and each
/// open escalation says whom it has reached: channels, and trusted contacts by name.
#[tokio::test(flavor = "multi_thread")]
async fn the_home_page_charts_thirty_days_and_says_whom_an_escalation_reached() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("chart@example.com", "UTC").await;
    let home = ada.get("/").await;
    assert!(home.text.contains("No deliveries in the last 30 days.") && !home.text.contains("class=\"chart\""));
    let id = ada.create_daily(&csrf, "take pills", "21:00").await;
    let owner = scalar(&app, &format!("SELECT user_id::text AS value FROM reminders WHERE id = '{id}'")).await;
    let episode = scalar(
        &app,
        &format!(
            "INSERT INTO escalations (reminder_id, user_id, occurrence_at, plan, status, current_tier, fired_at, \
             loop_started_at, scheduler_epoch) VALUES ('{id}', '{owner}', now(), '{{}}', 'active', 2, now(), now(), 1) \
             RETURNING id::text AS value"
        ),
    )
    .await;
    let grace = scalar(
        &app,
        &format!(
            "INSERT INTO trusted_contacts (user_id, name, email, consent_status, accepted_at) \
             VALUES ('{owner}', 'Grace Hopper', 'grace@example.com', 'accepted', now()) RETURNING id::text AS value"
        ),
    )
    .await;
    let delivery = |kind: &str, target: &str, channel: &str, status: &str, at: &str| {
        format!("('{episode}', '{id}', '{owner}', 1, 0, '{kind}', {target}, '{channel}', '{status}', {at})")
    };
    // Today's rows are placed just after the user's (UTC) midnight, so a run near midnight keeps them on one day.
    let today = |seconds: u32| {
        format!("date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '{seconds} seconds'")
    };
    let rows = [
        delivery("subscription", "gen_random_uuid()", "email", "sent", &today(1)),
        delivery("subscription", "gen_random_uuid()", "sms", "failed", &today(2)),
        delivery("contact", &format!("'{grace}'"), "email", "delivered", &today(3)),
        delivery("subscription", "gen_random_uuid()", "email", "cancelled", "now() - interval '3 days'"),
        delivery("subscription", "gen_random_uuid()", "email", "cancelled", "now() - interval '3 days'"),
        delivery("subscription", "gen_random_uuid()", "email", "sent", "now() - interval '40 days'"),
    ];
    crate::fixtures::insert_deliveries(&app, &rows).await;

    let home = ada.get("/").await;
    assert!(home.text.contains("Reached: email, Grace Hopper"), "{}", home.text);
    assert_eq!(home.text.matches("<svg class=\"chart\"").count(), 1, "{}", home.text);
    assert!(home.text.contains("over the last 30 days: 2 reached, 1 failed, 2 cancelled in all"), "{}", home.text);
    let legend = &home.text[home.text.find("class=\"legend\"").expect("a legend")..];
    assert!(legend.contains("</span>2 reached</li>") && legend.contains("</span>2 cancelled</li>"), "{legend}");
    let svg = &home.text[home.text.find("<svg class=\"chart\"").unwrap()..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    assert_eq!(svg.matches("<rect").count(), 3, "reached and failed today, cancelled three days ago: {svg}");
}
