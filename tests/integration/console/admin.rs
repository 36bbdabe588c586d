//! The admin console (issue #22 item 10) over HTTP: every page and every form as each admin role, as a
//! signed-in person without a role and signed out. What is shown and what a POST does are checked against
//! `permissions::allows`, so a change to the role table that the pages do not follow fails here.

use escalating_reminders::admin::permissions::{Permission, Role, allows};

use super::{Visitor, csrf_of, location};
use crate::common::TestApp;
use crate::fixtures::{exec, scalar};

/// Who visits: an admin with a role, or a person without one.
#[derive(Clone, Copy, Debug)]
enum Who {
    Admin(Role),
    Person,
}

const EVERYONE: [Who; 5] = [
    Who::Admin(Role::SuperAdmin),
    Who::Admin(Role::Support),
    Who::Admin(Role::Billing),
    Who::Admin(Role::Readonly),
    Who::Person,
];

impl Who {
    fn may(self, permission: Permission) -> bool {
        matches!(self, Who::Admin(role) if allows(role, permission))
    }

    fn slug(self) -> &'static str {
        match self {
            Who::Admin(role) => match role {
                Role::SuperAdmin => "super",
                Role::Support => "support",
                Role::Billing => "billing",
                Role::Readonly => "readonly",
            },
            Who::Person => "person",
        }
    }
}

/// A visitor signed up through the pages as `email`, made an admin with `role` when given; with their form
/// token and their `admin_users` id.
async fn signed_in<'a>(app: &'a TestApp, email: &str, who: Who) -> (Visitor<'a>, String, Option<String>) {
    let mut visitor = Visitor::new(app);
    visitor.sign_up(email, "UTC").await;
    let admin_id = match who {
        Who::Admin(role) => Some(
            scalar(
                app,
                &format!(
                    "INSERT INTO admin_users (user_id, role) SELECT id, '{}' FROM users WHERE email = '{email}' \
                     RETURNING id::text AS value",
                    role.as_str()
                ),
            )
            .await,
        ),
        Who::Person => None,
    };
    // The token of a page that has a form (the sign-out form is on every signed-in page).
    let csrf = csrf_of(&visitor.get("/").await.text);
    (visitor, csrf, admin_id)
}

async fn user_id_of(app: &TestApp, email: &str) -> String {
    scalar(app, &format!("SELECT id::text AS value FROM users WHERE email = '{email}'")).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar(app, &format!("SELECT count(*)::text AS value FROM ({sql}) AS q")).await.parse().unwrap()
}

fn is_not_found(status: u16, text: &str) -> bool {
    status == 404 && text.contains("Page not found")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_page_and_form_is_shown_as_the_role_table_says_and_hidden_from_everyone_else() {
    let app = TestApp::spawn().await;
    let mut customer = Visitor::new(&app);
    customer.sign_up("customer@example.com", "UTC").await;
    let target = user_id_of(&app, "customer@example.com").await;
    let pages = [
        ("/admin", Permission::ViewSystem, "Admin dashboard"),
        ("/admin/users", Permission::ViewUsers, "Users"),
        ("/admin/users?q=customer", Permission::ViewUsers, "customer@example.com"),
        (&format!("/admin/users/{target}") as &str, Permission::ViewUsers, "Support notes"),
        ("/admin/audit", Permission::ViewAudit, "Audit log"),
        ("/admin/health", Permission::ViewSystem, "System health"),
        ("/admin/settings", Permission::ViewSystem, "Operator settings"),
        ("/admin/admins", Permission::ViewUsers, "Who holds a role"),
    ];
    for who in EVERYONE {
        let (mut visitor, _, _) = signed_in(&app, &format!("{}@example.com", who.slug()), who).await;
        let home = visitor.get("/").await;
        assert_eq!(
            home.text.contains("href=\"/admin\""),
            matches!(who, Who::Admin(_)),
            "{who:?}: the nav's Admin link is for admins only"
        );
        for (path, permission, marker) in &pages {
            let reply = visitor.get(path).await;
            if who.may(*permission) {
                assert_eq!(reply.status, 200, "{who:?} {path}: {}", reply.text);
                assert!(reply.text.contains(marker), "{who:?} {path} shows {marker}");
                assert!(reply.text.contains("aria-current=\"page\">Admin<"), "{who:?} {path}: the nav marks Admin");
            } else {
                assert!(is_not_found(reply.status, &reply.text), "{who:?} {path}: {} {}", reply.status, reply.text);
            }
        }
        // Each form only for the roles that may use it.
        let user_page = visitor.get(&format!("/admin/users/{target}")).await.text;
        let settings_page = visitor.get("/admin/settings").await.text;
        let forms = [
            (&user_page, format!("action=\"/admin/users/{target}/delivery-state\""), Permission::SetDeliveryState),
            (&user_page, format!("action=\"/admin/users/{target}/tier\""), Permission::OverrideSubscription),
            (&user_page, format!("action=\"/admin/users/{target}/notes\""), Permission::WriteSupportNotes),
            (&user_page, format!("action=\"/admin/users/{target}/role\""), Permission::ManageAdmins),
            (&user_page, format!("action=\"/admin/users/{target}/delete\""), Permission::DeleteUsers),
            (&settings_page, "action=\"/admin/settings\"".to_owned(), Permission::ChangeSettings),
        ];
        for (page, form, permission) in forms {
            assert_eq!(page.contains(&form), who.may(permission), "{who:?}: {form} shown iff {permission:?}");
        }
        // Any other method or address under /admin is the same 404 page.
        for path in [format!("/admin/users/{target}/tier"), "/admin/nothing-here".to_owned()] {
            let reply = visitor.get(&path).await;
            assert!(is_not_found(reply.status, &reply.text), "{who:?} GET {path}: {}", reply.status);
        }
    }
    // Signed out: the same 404, not the sign-in page (which would say there is something here).
    let mut stranger = Visitor::new(&app);
    for (path, _, _) in &pages {
        let reply = stranger.get(path).await;
        assert!(is_not_found(reply.status, &reply.text), "signed out {path}: {} {}", reply.status, location(&reply));
    }
    let reply = stranger.post(&format!("/admin/users/{target}/notes"), &[("body", "x"), ("reason", "y")]).await;
    assert!(is_not_found(reply.status, &reply.text), "signed-out POST: {}", reply.status);
}

/// One form of the admin pages: where it posts, what it sends, the permission and the log's action.
struct Write {
    path: String,
    fields: Vec<(&'static str, String)>,
    permission: Permission,
    action: &'static str,
}

#[tokio::test(flavor = "multi_thread")]
async fn each_write_is_done_and_logged_or_refused_as_the_role_table_says() {
    let app = TestApp::spawn().await;
    let mut customer = Visitor::new(&app);
    customer.sign_up("customer@example.com", "UTC").await;
    let target = user_id_of(&app, "customer@example.com").await;
    for (index, who) in EVERYONE.into_iter().enumerate() {
        let (mut visitor, csrf, admin_id) = signed_in(&app, &format!("{}@example.com", who.slug()), who).await;
        // A note of this visitor's own to pin, edit and delete (written as by a support admin).
        let author =
            admin_id.clone().unwrap_or(scalar(&app, "SELECT id::text AS value FROM admin_users LIMIT 1").await);
        let note_sql = format!(
            "INSERT INTO support_notes (user_id, admin_user_id, body) VALUES ('{target}', '{author}', 'seeded') \
             RETURNING id::text AS value"
        );
        let [pin_note, edit_note, delete_note] =
            [scalar(&app, &note_sql).await, scalar(&app, &note_sql).await, scalar(&app, &note_sql).await];
        let reason = format!("ticket {index}");
        let user = format!("/admin/users/{target}");
        // An account of this visitor's own to make an admin, unmake and delete.
        let victim_email = format!("victim{index}@example.com");
        crate::fixtures::user(&app, &victim_email).await;
        let victim = format!("/admin/users/{}", user_id_of(&app, &victim_email).await);
        let writes = [
            Write {
                path: format!("{user}/delivery-state"),
                fields: vec![("state", "DELIVERY_DISABLED".into())],
                permission: Permission::SetDeliveryState,
                action: "user.disable_delivery",
            },
            Write {
                path: format!("{user}/delivery-state"),
                fields: vec![("state", "ACTIVE".into())],
                permission: Permission::SetDeliveryState,
                action: "user.enable_delivery",
            },
            Write {
                path: format!("{user}/tier"),
                fields: vec![("tier", "PRO".into())],
                permission: Permission::OverrideSubscription,
                action: "subscription.override",
            },
            Write {
                path: format!("{user}/tier"),
                fields: vec![("tier", String::new())],
                permission: Permission::OverrideSubscription,
                action: "subscription.clear_override",
            },
            Write {
                path: format!("{user}/notes"),
                fields: vec![("body", "Called about SMS".into())],
                permission: Permission::WriteSupportNotes,
                action: "note.add",
            },
            Write {
                path: format!("{user}/notes/{pin_note}/pin"),
                fields: vec![("pinned", "true".into())],
                permission: Permission::WriteSupportNotes,
                action: "note.edit",
            },
            Write {
                path: format!("{user}/notes/{edit_note}/edit"),
                fields: vec![("body", "edited".into())],
                permission: Permission::WriteSupportNotes,
                action: "note.edit",
            },
            Write {
                path: format!("{user}/notes/{delete_note}/delete"),
                fields: vec![],
                permission: Permission::WriteSupportNotes,
                action: "note.delete",
            },
            Write {
                path: format!("{victim}/role"),
                fields: vec![("role", "SUPPORT".into())],
                permission: Permission::ManageAdmins,
                action: "admin.grant",
            },
            Write {
                path: format!("{victim}/role"),
                fields: vec![("role", String::new())],
                permission: Permission::ManageAdmins,
                action: "admin.revoke",
            },
            Write {
                path: format!("{victim}/delete"),
                fields: vec![],
                permission: Permission::DeleteUsers,
                action: "user.delete",
            },
            Write {
                path: "/admin/settings".to_owned(),
                fields: vec![("retentionAuditDays", (400 + index).to_string())],
                permission: Permission::ChangeSettings,
                action: "settings.change",
            },
        ];
        for write in writes {
            let mut fields: Vec<(&str, &str)> = vec![("csrf", &csrf), ("reason", &reason)];
            fields.extend(write.fields.iter().map(|(k, v)| (*k, v.as_str())));
            let logged = match &admin_id {
                Some(id) => format!(
                    "SELECT 1 FROM admin_actions WHERE admin_user_id = '{id}' AND action = '{}' AND reason = '{reason}'",
                    write.action
                ),
                None => format!("SELECT 1 FROM admin_actions WHERE reason = '{reason}'"),
            };
            let before = count(&app, &logged).await;
            let reply = visitor.post(&write.path, &fields).await;
            let after = count(&app, &logged).await;
            match who {
                _ if who.may(write.permission) => {
                    assert_eq!(reply.status, 303, "{who:?} {}: {}", write.path, reply.text);
                    assert!(location(&reply).starts_with("/admin/"), "{who:?} {}", write.path);
                    assert_eq!(after, before + 1, "{who:?} {}: one log row with the reason", write.path);
                }
                Who::Admin(role) => {
                    assert_eq!(reply.status, 403, "{who:?} {}: {}", write.path, reply.text);
                    assert!(reply.text.contains(&format!("The {} role may not do this.", role.as_str())));
                    assert_eq!(after, before, "{who:?} {}: nothing logged", write.path);
                }
                Who::Person => {
                    assert!(is_not_found(reply.status, &reply.text), "{who:?} {}: {}", write.path, reply.status);
                    assert_eq!(after, before, "{who:?} {}: nothing logged", write.path);
                }
            }
        }
        let notes_left = count(&app, &format!("SELECT 1 FROM support_notes WHERE id = '{delete_note}'")).await;
        assert_eq!(notes_left == 0, who.may(Permission::WriteSupportNotes), "{who:?}: the note deleted iff allowed");
        let pinned =
            scalar(&app, &format!("SELECT pinned::text AS value FROM support_notes WHERE id = '{pin_note}'")).await;
        assert_eq!(pinned == "true", who.may(Permission::WriteSupportNotes), "{who:?}: pinned iff allowed");
    }
    let disabled = "SELECT 1 FROM subscriptions WHERE delivery_state <> 'ACTIVE' OR tier_override IS NOT NULL";
    assert_eq!(count(&app, disabled).await, 0, "every change made was undone by the next form");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_without_the_sessions_token_changes_nothing() {
    let app = TestApp::spawn().await;
    let (mut visitor, _, _) = signed_in(&app, "super@example.com", Who::Admin(Role::SuperAdmin)).await;
    let target = user_id_of(&app, "super@example.com").await;
    let reply = visitor
        .post(&format!("/admin/users/{target}/notes"), &[("csrf", "forged"), ("body", "x"), ("reason", "y")])
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert!(reply.text.contains("This form has expired"));
    assert_eq!(count(&app, "SELECT 1 FROM support_notes").await, 0);
    assert_eq!(count(&app, "SELECT 1 FROM admin_actions").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_input_is_shown_in_its_form_with_the_apis_message() {
    let app = TestApp::spawn().await;
    let (mut visitor, csrf, _) = signed_in(&app, "super@example.com", Who::Admin(Role::SuperAdmin)).await;
    let mut customer = Visitor::new(&app);
    customer.sign_up("customer@example.com", "UTC").await;
    let target = user_id_of(&app, "customer@example.com").await;
    let user = format!("/admin/users/{target}");

    let reply = visitor
        .post(&format!("{user}/delivery-state"), &[("csrf", &csrf), ("state", "USAGE_SUSPENDED"), ("reason", "")])
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.text.contains("id=\"delivery_reason-error\">must not be empty"), "{}", reply.text);
    assert!(reply.text.contains("id=\"delivery_until-error\">is required for USAGE_SUSPENDED"), "{}", reply.text);
    assert!(reply.text.contains("<option value=\"USAGE_SUSPENDED\" selected>"), "the choice is kept");

    let reply = visitor
        .post(
            &format!("{user}/delivery-state"),
            &[("csrf", &csrf), ("state", "USAGE_SUSPENDED"), ("until", "2099-01-01T09:00"), ("reason", "abuse")],
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("must be within 366 days"), "{}", reply.text);

    let reply = visitor.post(&format!("{user}/notes"), &[("csrf", &csrf), ("body", "  "), ("reason", "why")]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("id=\"note_body-error\">must not be empty"), "{}", reply.text);
    assert!(reply.text.contains("value=\"why\""), "what was typed stays");

    let reply =
        visitor.post("/admin/settings", &[("csrf", &csrf), ("retentionAuditDays", "lots"), ("reason", "r")]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("Give a whole number from 1 to 36500."), "{}", reply.text);
    let reply = visitor.post("/admin/settings", &[("csrf", &csrf), ("retentionAuditDays", "0"), ("reason", "r")]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("must be a whole number from 1 to 36500"), "the service's check: {}", reply.text);
    let reply = visitor.post("/admin/settings", &[("csrf", &csrf), ("reason", "nothing")]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("give at least one setting to change"), "{}", reply.text);
    assert_eq!(count(&app, "SELECT 1 FROM admin_actions").await, 0, "nothing refused is logged");

    // The last SUPER_ADMIN keeps the role; the API's message is shown in the form (409), nothing is logged.
    let me = user_id_of(&app, "super@example.com").await;
    let reply = visitor
        .post(&format!("/admin/users/{me}/role"), &[("csrf", &csrf), ("role", "READONLY"), ("reason", "r")])
        .await;
    assert_eq!(reply.status, 409, "{}", reply.text);
    assert!(reply.text.contains("class=\"error banner\" role=\"alert\">"), "{}", reply.text);
    let reply = visitor.post(&format!("{user}/role"), &[("csrf", &csrf), ("role", ""), ("reason", "r")]).await;
    assert_eq!(reply.status, 409);
    assert!(reply.text.contains("This account holds no admin role."), "{}", reply.text);
    assert_eq!(count(&app, "SELECT 1 FROM admin_actions").await, 0, "nothing refused is logged");

    // A suspension on the admin's clock, then the page says so and the log has it with its reason.
    let until = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%dT%H:%M").to_string();
    let reply = visitor
        .post(
            &format!("{user}/delivery-state"),
            &[("csrf", &csrf), ("state", "USAGE_SUSPENDED"), ("until", &until), ("reason", "too many texts")],
        )
        .await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, user.as_str()), "{}", reply.text);
    let page = visitor.get(&user).await;
    assert!(page.text.contains("Deliveries are now USAGE_SUSPENDED."), "the flash says what happened");
    assert!(page.text.contains("“too many texts”"));
    let logged = "SELECT 1 FROM admin_actions WHERE action = 'user.suspend' AND reason = 'too many texts'";
    assert_eq!(count(&app, logged).await, 1);
    let audit = visitor.get("/admin/audit?action=user.suspend").await;
    assert!(audit.text.contains("too many texts") && audit.text.contains("1 entry"), "{}", audit.text);
    let audit = visitor.get("/admin/audit?action=note.add").await;
    assert!(audit.text.contains("0 entries"));
    let audit = visitor.get("/admin/audit?target=nope&since=2026-13-01").await;
    assert_eq!(audit.status, 400);
    assert!(audit.text.contains("id=\"target-error\"") && audit.text.contains("id=\"since-error\""), "{}", audit.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_charts_revenue_and_activity_over_the_ranges_asked_for() {
    let app = TestApp::spawn().await;
    let (mut visitor, _, _) = signed_in(&app, "readonly@example.com", Who::Admin(Role::Readonly)).await;
    let mut payer = Visitor::new(&app);
    payer.sign_up("payer@example.com", "UTC").await;
    let payer_id = user_id_of(&app, "payer@example.com").await;
    // A real change of the subscription row (billing's trigger records it), dated into September.
    exec(&app, &format!("UPDATE subscriptions SET tier = 'PRO', status = 'ACTIVE' WHERE user_id = '{payer_id}'")).await;
    exec(&app, &format!("UPDATE subscription_events SET at = '2026-09-15T10:00:00Z' WHERE user_id = '{payer_id}'"))
        .await;
    let page = visitor.get("/admin?from=2026-08&to=2026-10&since=2026-09-01&until=2026-09-30").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let pro = app.state.config.tier_limits.get(reminder_core::tiers::Tier::Pro).price_cents;
    let mrr = format!("${}.{:02}", pro / 100, pro % 100);
    assert!(page.text.contains(&format!("Sep 2026: MRR {mrr}")), "the September column's tooltip: {}", page.text);
    assert!(page.text.contains("<th scope=\"row\">Aug 2026</th>"), "the table has every month");
    assert!(page.text.contains("role=\"img\""), "the charts are labelled images");
    assert!(page.text.contains("value=\"2026-09-30\""), "the range is kept in the form");
    let page = visitor.get("/admin?from=2026-10&to=2026-08&since=2026-09-30&until=2026-09-01").await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("id=\"revenue_to-error\">must not be before from"), "{}", page.text);
    assert!(page.text.contains("id=\"activity_to-error\">must be after from"), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_health_page_charts_the_snapshots_and_reads_now() {
    let app = TestApp::spawn().await;
    let (mut visitor, _, _) = signed_in(&app, "support@example.com", Who::Admin(Role::Support)).await;
    exec(
        &app,
        "INSERT INTO system_health_snapshots (taken_at, status, data) \
         SELECT date_trunc('hour', now()) - g * interval '5 minutes', s, jsonb_build_object( \
           'status', s, 'database', 'ok', 'redis', CASE WHEN s = 'ok' THEN 'ok' ELSE 'down' END, 'queueDepth', g % 7, \
           'dueNotFired', 0, 'schedulerLagSeconds', 1.5, 'deliveriesLast5Minutes', jsonb_build_object('pending', 0, \
           'sending', 0, 'sent', 0, 'delivered', 0, 'failed', 0, 'cancelled', 0)) \
         FROM generate_series(0, 40) AS g, LATERAL (SELECT CASE WHEN g BETWEEN 10 AND 12 THEN 'degraded' ELSE 'ok' END AS s) AS st",
    )
    .await;
    let page = visitor.get("/admin/health?hours=4").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("The last 4 hours"));
    assert!(page.text.contains("snapshots, one per 5 minutes"), "{}", page.text);
    assert!(page.text.contains("class=\"bar-degraded\""), "the degraded slots are drawn as such");
    assert!(page.text.contains("Health status by 5-minute slot"));
}
