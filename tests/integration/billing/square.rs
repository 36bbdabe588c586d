//! Square: checkout and cancel against a mock Square, webhook signatures, replays, and the upgrade and
//! downgrade flows end to end.

use std::path::PathBuf;

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{NOTIFICATION_URL, SIGNATURE_KEY, post_event, send_event, square_signature};
use crate::common::TestApp;
use crate::fixtures::{create, exec, once_body, scalar, user, user_id};

const TOKEN: &str = "sq-test-token";

struct Billing {
    app: TestApp,
    square: MockServer,
    outbox: PathBuf,
}

/// The app wired to a mock Square, with its own notice outbox.
async fn billing() -> Billing {
    let square = MockServer::start().await;
    let outbox = std::env::temp_dir().join(format!("er-billing-{}", uuid::Uuid::new_v4().simple()));
    let base = square.uri();
    let app = TestApp::spawn_with(&[
        ("SQUARE_API_BASE", base.as_str()),
        ("SQUARE_ACCESS_TOKEN", TOKEN),
        ("SQUARE_LOCATION_ID", "LOC1"),
        ("SQUARE_PLAN_PERSONAL", "PLAN_PERSONAL"),
        ("SQUARE_PLAN_PRO", "PLAN_PRO"),
        ("SQUARE_WEBHOOK_SIGNATURE_KEY", SIGNATURE_KEY),
        ("EMAIL_OUTBOX_DIR", outbox.to_str().unwrap()),
    ])
    .await;
    Billing { app, square, outbox }
}

/// Marks the user as paying for PRO through the Square subscription `SUB1` (what the events below refer to).
async fn on_square_pro(app: &TestApp, token: &str) {
    let id = user_id(app, token).await;
    exec(
        app,
        &format!("UPDATE subscriptions SET square_subscription_id = 'SUB1', tier = 'PRO' WHERE user_id = '{id}'"),
    )
    .await;
}

/// Every notice in the outbox, as text.
fn notices(outbox: &PathBuf) -> Vec<String> {
    std::fs::read_dir(outbox)
        .map(|dir| dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
        .unwrap_or_default()
}

fn subscription_event(kind: &str, event_id: &str, status: &str, plan: &str) -> Value {
    subscription_of("SUB1", "CUST1", kind, event_id, status, plan)
}

/// A subscription event for Square subscription `sub` of Square customer `customer`.
fn subscription_of(sub: &str, customer: &str, kind: &str, event_id: &str, status: &str, plan: &str) -> Value {
    json!({
        "merchant_id": "MERCHANT",
        "type": kind,
        "event_id": event_id,
        "created_at": "2026-11-25T12:00:00Z",
        "data": {"type": "subscription", "id": sub, "object": {"subscription": {
            "id": sub, "customer_id": customer, "location_id": "LOC1", "plan_variation_id": plan,
            "status": status, "charged_through_date": "2026-12-25", "start_date": "2026-11-25"
        }}}
    })
}

/// Square's report that Square customer `customer` paid for checkout order `order`, typing `email`.
fn payment_event(order: &str, customer: &str, email: &str) -> Value {
    json!({
        "merchant_id": "MERCHANT",
        "type": "payment.updated",
        "event_id": format!("EV-PAY-{order}"),
        "created_at": "2026-11-25T12:00:00Z",
        "data": {"type": "payment", "id": format!("PAY-{order}"), "object": {"payment": {
            "id": format!("PAY-{order}"), "order_id": order, "customer_id": customer, "status": "COMPLETED",
            "buyer_email_address": email, "amount_money": {"amount": 1500, "currency": "USD"}
        }}}
    })
}

/// The user opens a checkout for `tier`; Square makes the payment link for order `order`.
async fn checkout(b: &Billing, token: &str, tier: &str, order: &str) {
    Mock::given(method("POST"))
        .and(path("/v2/online-checkout/payment-links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "payment_link": {"id": format!("PL-{order}"), "url": "https://square.link/u/x", "order_id": order}
        })))
        .up_to_n_times(1)
        .mount(&b.square)
        .await;
    b.app.post("/v1/billing/checkout", json!({"tier": tier}), Some(token)).await.data(200);
}

/// The user checks out `tier` and pays for it at Square as customer `CUST1`.
async fn checkout_and_pay(b: &Billing, token: &str, tier: &str) {
    checkout(b, token, tier, "ORDER1").await;
    assert_eq!(send_event(&b.app, &payment_event("ORDER1", "CUST1", "buyer@example.com")).await.status, 200);
}

fn invoice_event(kind: &str, event_id: &str, amount: i64) -> Value {
    json!({
        "merchant_id": "MERCHANT",
        "type": kind,
        "event_id": event_id,
        "created_at": "2026-11-25T12:00:00Z",
        "data": {"type": "invoice", "id": "INV1", "object": {"invoice": {
            "id": "INV1", "subscription_id": "SUB1", "status": "PAID", "title": "PRO plan",
            "payment_requests": [{"computed_amount_money": {"amount": amount, "currency": "USD"}}]
        }}}
    })
}

/// Square's customer look-up answers with the user's email.
async fn customer_is(square: &MockServer, email: &str) {
    Mock::given(method("GET"))
        .and(path("/v2/customers/CUST1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"customer": {"id": "CUST1", "email_address": email}})),
        )
        .mount(square)
        .await;
}

async fn tier_of(app: &TestApp, token: &str) -> Value {
    app.get("/v1/billing/subscription", Some(token)).await.data(200).clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_creates_a_square_payment_link_for_the_tiers_plan() {
    let b = billing().await;
    let token = user(&b.app, "buyer@example.com").await;
    Mock::given(method("POST"))
        .and(path("/v2/online-checkout/payment-links"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_partial_json(json!({
            "quick_pay": {"location_id": "LOC1", "price_money": {"amount": 1500, "currency": "USD"}},
            "checkout_options": {"subscription_plan_id": "PLAN_PRO"},
            "pre_populated_data": {"buyer_email": "buyer@example.com"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "payment_link": {"id": "PL1", "url": "https://square.link/u/pro-link", "order_id": "ORDER1", "version": 1}
        })))
        .expect(1)
        .mount(&b.square)
        .await;

    let reply = b.app.post("/v1/billing/checkout", json!({"tier": "PRO"}), Some(&token)).await;
    assert_eq!(reply.data(200)["checkoutUrl"], "https://square.link/u/pro-link");
    let requests = b.square.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert!(body["idempotency_key"].as_str().is_some_and(|k| !k.is_empty()), "Square needs an idempotency key");
    // The buyer comes back to a page of the console, not to a JSON endpoint that would answer 401.
    let back = body["checkout_options"]["redirect_url"].as_str().expect("a redirect URL");
    let back = url::Url::parse(back).unwrap();
    assert_eq!(back.path(), "/billing/return");
    let page = b.app.client.get(b.app.url(back.path())).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 303, "a signed-out buyer is sent to sign in first");
    assert_eq!(page.headers()["location"], "/login?next=%2Fbilling%2Freturn");

    b.app
        .post("/v1/billing/checkout", json!({"tier": "FREE"}), Some(&token))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    b.app
        .post("/v1/billing/checkout", json!({"tier": "GOLD"}), Some(&token))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    b.app
        .post("/v1/billing/checkout", json!({"tier": "PRO", "coupon": "x"}), Some(&token))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    // FAMILY has no plan configured on this server.
    b.app
        .post("/v1/billing/checkout", json!({"tier": "FAMILY"}), Some(&token))
        .await
        .assert_error(422, "UNPROCESSABLE_ENTITY");
    b.app.post("/v1/billing/checkout", json!({"tier": "PRO"}), None).await.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_correctly_signed_events_are_accepted_and_bad_ones_change_nothing() {
    let b = billing().await;
    let token = user(&b.app, "signed@example.com").await;
    checkout_and_pay(&b, &token, "PRO").await;
    let event = subscription_event("subscription.created", "EV-SIGNED", "ACTIVE", "PLAN_PRO");
    let body = serde_json::to_vec(&event).unwrap();
    let good = square_signature(NOTIFICATION_URL, &body);

    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'P').unwrap();
    tampered[at] = b'Q';
    let wrong_url = square_signature("https://elsewhere.example/v1/webhooks/square", &body);
    for (what, reply) in [
        ("tampered body", post_event(&b.app, &tampered, Some(&good)).await),
        ("wrong URL", post_event(&b.app, &body, Some(&wrong_url)).await),
        ("missing header", post_event(&b.app, &body, None).await),
        ("garbage", post_event(&b.app, &body, Some("bm90IGEgc2lnbmF0dXJl")).await),
    ] {
        assert_eq!(reply.status, 401, "{what}");
    }
    assert_eq!(scalar(&b.app, "SELECT count(*)::text AS value FROM processed_webhook_events").await, "1");
    assert_eq!(tier_of(&b.app, &token).await["tier"], "FREE");

    let accepted = post_event(&b.app, &body, Some(&good)).await;
    assert_eq!(accepted.status, 200);
    let summary = tier_of(&b.app, &token).await;
    assert_eq!(summary["tier"], "PRO");
    assert_eq!(summary["status"], "ACTIVE");
    assert_eq!(summary["currentPeriodEnd"], "2026-12-25T00:00:00Z");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_event_five_times_has_one_effect() {
    let b = billing().await;
    let token = user(&b.app, "replay@example.com").await;
    on_square_pro(&b.app, &token).await;
    let paid = invoice_event("invoice.payment_made", "EV-PAID", 1500);
    for _ in 0..5 {
        assert_eq!(send_event(&b.app, &paid).await.status, 200);
    }
    let invoices = b.app.get("/v1/billing/invoices", Some(&token)).await;
    let list = invoices.data(200).as_array().unwrap().clone();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["amountCents"], 1500);
    assert_eq!(list[0]["status"], "PAID");
    assert_eq!(list[0]["squareInvoiceId"], "INV1");
    assert_eq!(scalar(&b.app, "SELECT count(*)::text AS value FROM processed_webhook_events").await, "1");

    // Another user sees none of it.
    let other = user(&b.app, "other-replay@example.com").await;
    assert_eq!(b.app.get("/v1/billing/invoices", Some(&other)).await.data(200).as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_payment_marks_the_account_past_due_and_emails_the_owner() {
    let b = billing().await;
    let token = user(&b.app, "pastdue@example.com").await;
    on_square_pro(&b.app, &token).await;
    assert_eq!(send_event(&b.app, &invoice_event("invoice.payment_failed", "EV-FAIL", 1500)).await.status, 200);
    let summary = tier_of(&b.app, &token).await;
    assert_eq!(summary["status"], "PAST_DUE");
    assert_eq!(summary["tier"], "PRO", "a failed payment does not take the plan away at once");
    let invoices = b.app.get("/v1/billing/invoices", Some(&token)).await;
    assert_eq!(invoices.data(200)[0]["status"], "FAILED");
    let mails = notices(&b.outbox);
    assert!(mails.iter().any(|m| m.contains("To: pastdue@example.com") && m.contains("payment failed")), "{mails:?}");

    // Paying again makes it active; unknown event types are stored and answered 200.
    assert_eq!(send_event(&b.app, &invoice_event("invoice.payment_made", "EV-PAID-2", 1500)).await.status, 200);
    assert_eq!(tier_of(&b.app, &token).await["status"], "ACTIVE");
    let unknown = json!({"type": "loyalty.account.created", "event_id": "EV-UNKNOWN", "data": {}});
    assert_eq!(send_event(&b.app, &unknown).await.status, 200);
    assert_eq!(
        scalar(&b.app, "SELECT event_type AS value FROM processed_webhook_events WHERE event_id = 'EV-UNKNOWN'").await,
        "loyalty.account.created"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_asks_square_to_stop_at_period_end() {
    let b = billing().await;
    let token = user(&b.app, "cancel@example.com").await;
    b.app.post("/v1/billing/cancel", json!({}), Some(&token)).await.assert_error(422, "UNPROCESSABLE_ENTITY");
    on_square_pro(&b.app, &token).await;
    Mock::given(method("POST"))
        .and(path("/v2/subscriptions/SUB1/cancel"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"subscription": {"id": "SUB1", "status": "ACTIVE", "canceled_date": "2026-12-25"}}),
            ),
        )
        .expect(1)
        .mount(&b.square)
        .await;
    let reply = b.app.post("/v1/billing/cancel", json!({}), Some(&token)).await;
    let data = reply.data(200);
    assert_eq!(data["cancelAtPeriodEnd"], true);
    assert_eq!(data["tier"], "PRO", "the paid period is kept");
}

/// Square's subscription `SUB1` as `GET /v2/subscriptions/SUB1?include=actions` answers, with `actions`.
fn square_subscription(status: &str, actions: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"subscription": {
        "id": "SUB1", "status": status, "plan_variation_id": "PLAN_PRO", "charged_through_date": "2026-12-25",
        "canceled_date": "2026-12-25", "actions": actions
    }}))
}

#[tokio::test(flavor = "multi_thread")]
async fn reactivate_undoes_a_scheduled_cancellation_before_the_period_ends() {
    let b = billing().await;
    let token = user(&b.app, "reactivate@example.com").await;
    on_square_pro(&b.app, &token).await;
    let nothing = b.app.post("/v1/billing/reactivate", json!({}), Some(&token)).await;
    nothing.assert_error(422, "UNPROCESSABLE_ENTITY");
    let id = user_id(&b.app, &token).await;
    let cancelled = format!(
        "UPDATE subscriptions SET cancel_at_period_end = true, current_period_end = now() + interval '19 days' \
         WHERE user_id = '{id}'"
    );
    exec(&b.app, &cancelled).await;

    // Square keeps the cancellation as a pending action; deleting it is the undo.
    Mock::given(method("GET"))
        .and(path("/v2/subscriptions/SUB1"))
        .and(query_param("include", "actions"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(square_subscription(
            "ACTIVE",
            json!([{"id": "ACT-CANCEL", "type": "CANCEL", "effective_date": "2026-12-25"}]),
        ))
        .expect(1)
        .mount(&b.square)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/subscriptions/SUB1/actions/ACT-CANCEL"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"subscription": {"id": "SUB1"}})))
        .expect(1)
        .mount(&b.square)
        .await;
    let reply = b.app.post("/v1/billing/reactivate", json!({}), Some(&token)).await;
    let data = reply.data(200);
    assert_eq!(data["cancelAtPeriodEnd"], false, "{}", reply.text);
    assert_eq!(data["tier"], "PRO");
    assert_eq!(b.app.get("/v1/billing/subscription", Some(&token)).await.data(200)["cancelAtPeriodEnd"], false);
    // Nothing left to undo.
    b.app.post("/v1/billing/reactivate", json!({}), Some(&token)).await.assert_error(422, "UNPROCESSABLE_ENTITY");
}

#[tokio::test(flavor = "multi_thread")]
async fn reactivate_is_refused_once_the_period_or_the_subscription_has_ended() {
    let b = billing().await;
    let token = user(&b.app, "too-late@example.com").await;
    on_square_pro(&b.app, &token).await;
    let id = user_id(&b.app, &token).await;
    let ends = |when: &str| {
        format!(
            "UPDATE subscriptions SET cancel_at_period_end = true, current_period_end = {when} WHERE user_id = '{id}'"
        )
    };
    // The period is over: Square is not asked, nothing changes.
    exec(&b.app, &ends("now() - interval '1 hour'")).await;
    Mock::given(method("GET")).respond_with(square_subscription("CANCELED", json!([]))).mount(&b.square).await;
    let late = b.app.post("/v1/billing/reactivate", json!({}), Some(&token)).await;
    late.assert_error(422, "UNPROCESSABLE_ENTITY");
    assert!(b.square.received_requests().await.unwrap_or_default().is_empty(), "Square was not asked");

    // Square says the subscription has ended (its period ran out before ours was updated): refused too.
    exec(&b.app, &ends("now() + interval '2 days'")).await;
    let ended = b.app.post("/v1/billing/reactivate", json!({}), Some(&token)).await;
    ended.assert_error(422, "UNPROCESSABLE_ENTITY");
    assert_eq!(b.app.get("/v1/billing/subscription", Some(&token)).await.data(200)["cancelAtPeriodEnd"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrade_and_downgrade_change_limits_at_once_and_never_delete() {
    let b = billing().await;
    let token = user(&b.app, "flow@example.com").await;
    checkout_and_pay(&b, &token, "PERSONAL").await;
    for n in 1..=3 {
        create(&b.app, &token, once_body(&format!("Free {n}"))).await;
    }
    let refused = b.app.post("/v1/reminders", once_body("Fourth"), Some(&token)).await;
    refused.assert_error(403, "FORBIDDEN");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("PERSONAL"), "{:?}", refused.body);

    // Upgrade: Square reports the PERSONAL subscription; the fourth reminder fits at once.
    let created = subscription_event("subscription.created", "EV-UP", "ACTIVE", "PLAN_PERSONAL");
    assert_eq!(send_event(&b.app, &created).await.status, 200);
    assert_eq!(tier_of(&b.app, &token).await["limits"]["reminders"], 20);
    let mut ids = Vec::new();
    for n in 4..=5 {
        ids.push(create(&b.app, &token, once_body(&format!("Paid {n}"))).await["id"].as_str().unwrap().to_owned());
    }

    // Channels and trusted contacts beyond FREE's (1 and 0) pause the same way.
    let channels_before = b.app.get("/v1/agents/subscriptions", Some(&token)).await.data(200).as_array().unwrap().len();
    for n in 1..=2 {
        let body = json!({"name": format!("Mail {n}"), "config": {"address": format!("mail{n}@example.com")}});
        b.app.post("/v1/agents/email/subscribe", body, Some(&token)).await.data(201);
    }
    let helper = json!({"name": "Grace", "email": "grace@example.com"});
    b.app.post("/v1/trusted-contacts", helper, Some(&token)).await.data(201);

    // Downgrade: Square cancels; the two newest stop escalating, nothing is deleted, the owner is told.
    let canceled = subscription_event("subscription.updated", "EV-DOWN", "CANCELED", "PLAN_PERSONAL");
    assert_eq!(send_event(&b.app, &canceled).await.status, 200);
    let summary = tier_of(&b.app, &token).await;
    assert_eq!(summary["tier"], "FREE");
    assert_eq!(summary["status"], "CANCELED");
    assert_eq!(summary["usage"]["reminders"]["used"], 5);
    let list = b.app.get("/v1/reminders", Some(&token)).await.data(200).as_array().unwrap().clone();
    assert_eq!(list.len(), 5, "a downgrade deletes nothing");
    let paused: Vec<&str> =
        list.iter().filter(|r| !r["pausedReason"].is_null()).map(|r| r["title"].as_str().unwrap()).collect();
    let mut paused_sorted = paused.clone();
    paused_sorted.sort();
    assert_eq!(paused_sorted, ["Paid 4", "Paid 5"]);
    let one = b.app.get(&format!("/v1/reminders/{}", ids[1]), Some(&token)).await;
    assert!(one.data(200)["pausedReason"].as_str().unwrap().contains("FREE"));
    let mails = notices(&b.outbox);
    assert!(
        mails.iter().any(|m| m.contains("To: flow@example.com") && m.contains("Paid 4") && m.contains("Paid 5")),
        "{mails:?}"
    );
    b.app.post("/v1/reminders", once_body("Sixth"), Some(&token)).await.assert_error(403, "FORBIDDEN");

    let channels = b.app.get("/v1/agents/subscriptions", Some(&token)).await.data(200).as_array().unwrap().clone();
    assert_eq!(channels.len(), channels_before + 2, "a downgrade deletes no channel");
    let paused_channels = paused_names(&channels);
    assert_eq!(paused_channels.len(), channels.len() - 1, "FREE keeps only the oldest channel: {channels:?}");
    assert!(paused_channels.contains(&"Mail 2".to_owned()), "{channels:?}");
    let contacts = b.app.get("/v1/trusted-contacts", Some(&token)).await.data(200).as_array().unwrap().clone();
    assert_eq!(paused_names(&contacts), ["Grace"]);
    assert!(contacts[0]["pausedReason"].as_str().unwrap().contains("FREE tier allows 0 trusted contacts"));
    let told = notices(&b.outbox);
    assert!(told.iter().any(|m| m.contains("Mail 2") && m.contains("Grace")), "{told:?}");
    // Deleting the channel that still works frees its slot for the oldest paused one.
    let working = channels.iter().find(|c| c["pausedReason"].is_null()).unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/agents/subscriptions/{working}");
    assert_eq!(crate::fixtures::delete(&b.app, &token, &path).await.status, 204);
    let channels = b.app.get("/v1/agents/subscriptions", Some(&token)).await.data(200).as_array().unwrap().clone();
    assert_eq!(channels.iter().filter(|c| c["pausedReason"].is_null()).count(), 1, "{channels:?}");

    // Archiving one within the limit frees its slot: the older of the paused two escalates again.
    let oldest = list.iter().find(|r| r["title"] == "Free 1").unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(crate::fixtures::delete(&b.app, &token, &format!("/v1/reminders/{oldest}")).await.status, 204);
    let list = b.app.get("/v1/reminders", Some(&token)).await.data(200).as_array().unwrap().clone();
    let paused: Vec<&str> =
        list.iter().filter(|r| !r["pausedReason"].is_null()).map(|r| r["title"].as_str().unwrap()).collect();
    assert_eq!(paused, ["Paid 5"]);

    // Upgrading again resumes them.
    let again = subscription_event("subscription.updated", "EV-UP-AGAIN", "ACTIVE", "PLAN_PRO");
    assert_eq!(send_event(&b.app, &again).await.status, 200);
    let list = b.app.get("/v1/reminders", Some(&token)).await.data(200).as_array().unwrap().clone();
    assert!(list.iter().all(|r| r["pausedReason"].is_null()), "{list:?}");
    let channels = b.app.get("/v1/agents/subscriptions", Some(&token)).await.data(200).as_array().unwrap().clone();
    assert!(paused_names(&channels).is_empty(), "{channels:?}");
    let contacts = b.app.get("/v1/trusted-contacts", Some(&token)).await.data(200).as_array().unwrap().clone();
    assert!(paused_names(&contacts).is_empty(), "{contacts:?}");
}

/// The names of the listed items that carry a `pausedReason`.
fn paused_names(items: &[Value]) -> Vec<String> {
    items.iter().filter(|i| !i["pausedReason"].is_null()).map(|i| i["name"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_registered_with_the_buyers_email_does_not_get_the_subscription() {
    let b = billing().await;
    let buyer = user(&b.app, "buyer-account@example.com").await;
    // The attacker registers (unverified) the address the buyer types at Square's checkout.
    let attacker = user(&b.app, "billing@example.com").await;
    customer_is(&b.square, "billing@example.com").await;
    checkout(&b, &buyer, "PRO", "ORDER-BUYER").await;

    // Square may report the subscription before the payment: it waits for the payment, and nobody gets it.
    let created = subscription_event("subscription.created", "EV-SUB-FIRST", "ACTIVE", "PLAN_PRO");
    assert_eq!(send_event(&b.app, &created).await.status, 200);
    assert_eq!(tier_of(&b.app, &attacker).await["tier"], "FREE", "the tier went to the account with the email");
    assert_eq!(tier_of(&b.app, &buyer).await["tier"], "FREE");

    let paid = payment_event("ORDER-BUYER", "CUST1", "billing@example.com");
    assert_eq!(send_event(&b.app, &paid).await.status, 200);
    assert_eq!(tier_of(&b.app, &buyer).await["tier"], "PRO", "the account that checked out and paid");
    assert_eq!(tier_of(&b.app, &attacker).await["tier"], "FREE");
    // Later events of that subscription keep to its account.
    let renewed = subscription_event("subscription.updated", "EV-SUB-LATER", "ACTIVE", "PLAN_PRO");
    assert_eq!(send_event(&b.app, &renewed).await.status, 200);
    assert_eq!(tier_of(&b.app, &attacker).await["tier"], "FREE");
    assert_eq!(tier_of(&b.app, &buyer).await["tier"], "PRO");
}

#[tokio::test(flavor = "multi_thread")]
async fn paying_with_someone_elses_email_gives_the_tier_to_the_payer_not_to_them() {
    let b = billing().await;
    let victim = user(&b.app, "victim@example.com").await;
    let payer = user(&b.app, "payer@example.com").await;
    customer_is(&b.square, "victim@example.com").await;
    checkout(&b, &payer, "PRO", "ORDER-PAYER").await;
    assert_eq!(send_event(&b.app, &payment_event("ORDER-PAYER", "CUST1", "victim@example.com")).await.status, 200);
    let created = subscription_event("subscription.created", "EV-SUB", "ACTIVE", "PLAN_PRO");
    assert_eq!(send_event(&b.app, &created).await.status, 200);
    assert_eq!(tier_of(&b.app, &payer).await["tier"], "PRO");
    assert_eq!(tier_of(&b.app, &victim).await["tier"], "FREE", "the victim's account was changed by a stranger");

    // A subscription that no checkout of ours started (made at Square directly, or a forged customer) goes
    // to nobody, whatever email its customer has.
    let stray = subscription_of("SUB-STRAY", "CUST1", "subscription.created", "EV-STRAY", "ACTIVE", "PLAN_PERSONAL");
    assert_eq!(send_event(&b.app, &stray).await.status, 200);
    assert_eq!(tier_of(&b.app, &victim).await["tier"], "FREE");
    assert_eq!(tier_of(&b.app, &payer).await["tier"], "PRO");
    // A payment for an order we never made links nothing either.
    assert_eq!(send_event(&b.app, &payment_event("ORDER-FORGED", "CUST9", "victim@example.com")).await.status, 200);
    let forged = subscription_of("SUB-FORGED", "CUST9", "subscription.created", "EV-FORGED", "ACTIVE", "PLAN_PRO");
    assert_eq!(send_event(&b.app, &forged).await.status, 200);
    assert_eq!(tier_of(&b.app, &victim).await["tier"], "FREE");
}
