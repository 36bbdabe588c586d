//! Role management, note edits and an admin's deletion of an account, through the API: a SUPER_ADMIN grants,
//! changes and revokes roles and the last one cannot go; two revoking each other at once leave one; notes
//! are edited, pinned first and deleted; a deleted account's credentials stop working. Each write is logged.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Admin, admin, customer};
use crate::common::{Reply, TestApp};
use crate::fixtures::{scalar, user_id};

async fn put_role(app: &TestApp, by: &Admin, user: &str, role: &str) -> Reply {
    let body = json!({"role": role, "reason": "team change"});
    app.call(Method::PUT, &format!("/v1/admin/admins/{user}"), Some(body), Some(&by.token)).await
}

async fn revoke(app: &TestApp, by: &Admin, user: &str) -> Reply {
    let body = json!({"reason": "left the team"});
    app.call(Method::DELETE, &format!("/v1/admin/admins/{user}"), Some(body), Some(&by.token)).await
}

/// The log's actions, oldest first.
async fn logged(app: &TestApp) -> String {
    scalar(app, "SELECT string_agg(action, ' ' ORDER BY created_at) AS value FROM admin_actions").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_super_admin_grants_changes_and_revokes_roles_and_the_last_one_stays() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let root_user = user_id(&app, &root.token).await;
    let (ada_token, ada) = customer(&app, "ada@example.com").await;
    app.get("/v1/admin/stats", Some(&ada_token)).await.assert_error(403, "FORBIDDEN");

    // Granted SUPPORT: ada reads the admin pages and may suspend, but not manage roles.
    let entry = put_role(&app, &root, &ada, "SUPPORT").await.data(200).clone();
    assert_eq!((entry["userId"].as_str(), entry["role"].as_str()), (Some(ada.as_str()), Some("SUPPORT")));
    assert_eq!(app.get("/v1/admin/stats", Some(&ada_token)).await.status, 200);
    let ada_admin = Admin { token: ada_token.clone(), admin_id: entry["adminId"].as_str().unwrap().to_owned() };
    put_role(&app, &ada_admin, &root_user, "READONLY").await.assert_error(403, "FORBIDDEN");
    let list = app.get("/v1/admin/admins", Some(&ada_token)).await.data(200).clone();
    let roles: Vec<(&str, &str)> =
        list.as_array().unwrap().iter().map(|a| (a["email"].as_str().unwrap(), a["role"].as_str().unwrap())).collect();
    assert_eq!(roles, [("root@example.com", "SUPER_ADMIN"), ("ada@example.com", "SUPPORT")]);

    // The only SUPER_ADMIN can neither step down nor be revoked.
    put_role(&app, &root, &root_user, "READONLY").await.assert_error(409, "CONFLICT");
    revoke(&app, &root, &root_user).await.assert_error(409, "CONFLICT");
    assert_eq!(scalar(&app, "SELECT role AS value FROM admin_users a JOIN users u ON u.id = a.user_id WHERE u.email = 'root@example.com'").await, "SUPER_ADMIN");

    // With a second SUPER_ADMIN, root may step down, and ada then revokes root entirely.
    put_role(&app, &root, &ada, "SUPER_ADMIN").await.data(200);
    put_role(&app, &root, &root_user, "READONLY").await.data(200);
    put_role(&app, &root, &ada, "SUPPORT").await.assert_error(403, "FORBIDDEN");
    assert_eq!(revoke(&app, &ada_admin, &root_user).await.status, 204);
    app.get("/v1/admin/stats", Some(&root.token)).await.assert_error(403, "FORBIDDEN");
    revoke(&app, &ada_admin, &root_user).await.assert_error(404, "NOT_FOUND");
    revoke(&app, &ada_admin, &ada).await.assert_error(409, "CONFLICT");
    assert_eq!(logged(&app).await, "admin.grant admin.change_role admin.change_role admin.revoke");
    // Root's own actions still name root: the row stays, only its role ended.
    let audit = app.get("/v1/admin/audit?action=admin.grant", Some(&ada_token)).await.data(200).clone();
    assert_eq!(audit[0]["adminEmail"], "root@example.com");
    assert_eq!(audit[0]["reason"], "team change");
    assert_eq!(audit[0]["changes"]["before"]["role"], Value::Null);
    assert_eq!(audit[0]["changes"]["after"]["role"], "SUPPORT");

    // Granted again, root's old row comes back with the new role.
    put_role(&app, &ada_admin, &root_user, "BILLING").await.data(200);
    assert_eq!(app.get("/v1/admin/stats", Some(&root.token)).await.status, 200);
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM admin_users").await, "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn role_changes_refuse_bad_input_and_unknown_users_without_logging() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let (_, ada) = customer(&app, "ada@example.com").await;
    let put = async |user: &str, body: Value| {
        app.call(Method::PUT, &format!("/v1/admin/admins/{user}"), Some(body), Some(&root.token)).await
    };
    put(&ada, json!({"role": "ROOT", "reason": "x"})).await.assert_error(400, "VALIDATION_ERROR");
    put(&ada, json!({"role": "SUPPORT"})).await.assert_error(400, "VALIDATION_ERROR");
    put(&ada, json!({"role": "SUPPORT", "reason": "   "})).await.assert_error(400, "VALIDATION_ERROR");
    put(&ada, json!({"role": "SUPPORT", "reason": "x", "extra": 1})).await.assert_error(400, "VALIDATION_ERROR");
    let nobody = uuid::Uuid::new_v4();
    put(&nobody.to_string(), json!({"role": "SUPPORT", "reason": "x"})).await.assert_error(404, "NOT_FOUND");
    revoke(&app, &root, &ada).await.assert_error(404, "NOT_FOUND");
    assert_eq!(scalar(&app, "SELECT count(*)::text AS value FROM admin_actions").await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_super_admins_demoting_each_other_at_once_leave_one() {
    let app = TestApp::spawn().await;
    for round in 0..5 {
        let a = admin(&app, &format!("a{round}@example.com"), "SUPER_ADMIN").await;
        let b = admin(&app, &format!("b{round}@example.com"), "SUPER_ADMIN").await;
        let (a_user, b_user) = (user_id(&app, &a.token).await, user_id(&app, &b.token).await);
        // Only these two hold SUPER_ADMIN this round.
        crate::fixtures::exec(
            &app,
            &format!("UPDATE admin_users SET revoked_at = now() WHERE user_id NOT IN ('{a_user}', '{b_user}')"),
        )
        .await;
        let (first, second) = tokio::join!(revoke(&app, &a, &b_user), revoke(&app, &b, &a_user));
        let mut statuses = [first.status, second.status];
        statuses.sort_unstable();
        // The loser is refused as the last SUPER_ADMIN (409), or, when the winner's change landed before the
        // loser's request was let in at all, as no admin any more (403).
        assert!(
            statuses == [204, 409] || statuses == [204, 403],
            "round {round}: {statuses:?} {} / {}",
            first.text,
            second.text
        );
        let left = "SELECT count(*)::text AS value FROM admin_users WHERE role = 'SUPER_ADMIN' AND revoked_at IS NULL";
        assert_eq!(scalar(&app, left).await, "1", "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_are_edited_pinned_first_and_deleted_with_a_log_row_each() {
    let app = TestApp::spawn().await;
    let support = admin(&app, "support@example.com", "SUPPORT").await;
    let readonly = admin(&app, "readonly@example.com", "READONLY").await;
    let (_, ada) = customer(&app, "ada@example.com").await;
    let (_, bob) = customer(&app, "bob@example.com").await;
    let notes_of = |user: &str| format!("/v1/admin/users/{user}/notes");
    let add = async |text: &str| {
        let body = json!({"body": text, "reason": "call"});
        app.post(&notes_of(&ada), body, Some(&support.token)).await.data(201)["id"].as_str().unwrap().to_owned()
    };
    let older = add("Prefers SMS after 6pm.").await;
    let newer = add("Asked about family plans.").await;
    let edit = async |user: &str, note: &str, body: Value, token: &str| {
        app.call(Method::PATCH, &format!("{}/{note}", notes_of(user)), Some(body), Some(token)).await
    };

    let pinned = edit(&ada, &older, json!({"pinned": true, "reason": "keep in view"}), &support.token).await;
    assert_eq!(pinned.data(200)["pinned"], true);
    let edited =
        edit(&ada, &older, json!({"body": "Prefers SMS after 7pm.", "reason": "corrected"}), &support.token).await;
    let edited = edited.data(200).clone();
    assert_eq!((edited["body"].as_str(), edited["pinned"].as_bool()), (Some("Prefers SMS after 7pm."), Some(true)));
    assert!(edited["updatedAt"].is_string());
    let list = app.get(&notes_of(&ada), Some(&readonly.token)).await.data(200).clone();
    let order: Vec<&str> = list.as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(order, [older.as_str(), newer.as_str()], "the pinned note first, though older");

    // Refused: no change asked, READONLY, another user's path, an unknown note.
    edit(&ada, &newer, json!({"reason": "nothing"}), &support.token).await.assert_error(400, "VALIDATION_ERROR");
    edit(&ada, &newer, json!({"pinned": true, "reason": "r"}), &readonly.token).await.assert_error(403, "FORBIDDEN");
    edit(&bob, &newer, json!({"pinned": true, "reason": "r"}), &support.token).await.assert_error(404, "NOT_FOUND");
    let unknown = uuid::Uuid::new_v4().to_string();
    edit(&ada, &unknown, json!({"pinned": true, "reason": "r"}), &support.token).await.assert_error(404, "NOT_FOUND");

    let delete = async |note: &str| {
        let path = format!("{}/{note}", notes_of(&ada));
        app.call(Method::DELETE, &path, Some(json!({"reason": "duplicate"})), Some(&support.token)).await
    };
    assert_eq!(delete(&newer).await.status, 204);
    delete(&newer).await.assert_error(404, "NOT_FOUND");
    assert_eq!(app.get(&notes_of(&ada), Some(&support.token)).await.data(200).as_array().unwrap().len(), 1);
    assert_eq!(logged(&app).await, "note.add note.add note.edit note.edit note.delete");
    // The log says which note and what changed, never the note's text.
    let texts = "SELECT count(*)::text AS value FROM admin_actions WHERE changes::text LIKE '%SMS%'";
    assert_eq!(scalar(&app, texts).await, "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_super_admin_deletes_an_account_and_its_credentials_stop_working() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root@example.com", "SUPER_ADMIN").await;
    let support = admin(&app, "support@example.com", "SUPPORT").await;
    let support_user = user_id(&app, &support.token).await;
    let (ada_token, ada) = customer(&app, "ada@example.com").await;
    let key = app.post("/v1/api-keys", json!({"name": "script"}), Some(&ada_token)).await.data(201)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let delete = async |user: &str, by: &Admin| {
        let body = json!({"reason": "asked by email to close the account"});
        app.call(Method::DELETE, &format!("/v1/admin/users/{user}"), Some(body), Some(&by.token)).await
    };
    delete(&ada, &support).await.assert_error(403, "FORBIDDEN");
    delete(&support_user, &root).await.assert_error(409, "CONFLICT");
    assert_eq!(delete(&ada, &root).await.status, 204);

    app.get("/v1/users/me", Some(&ada_token)).await.assert_error(401, "UNAUTHORIZED");
    let with_key =
        Reply::from(app.client.get(app.url("/v1/reminders")).header("x-api-key", key).send().await.unwrap()).await;
    with_key.assert_error(401, "UNAUTHORIZED");
    let detail = app.get(&format!("/v1/admin/users/{ada}"), Some(&root.token)).await.data(200).clone();
    assert!(detail["deletedAt"].is_string(), "support can still look at the deleted account: {detail}");
    delete(&ada, &root).await.assert_error(409, "CONFLICT");
    assert_eq!(logged(&app).await, "user.delete");
}
