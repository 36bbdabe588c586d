//! The billing page against a mock Square: upgrading opens a checkout the page links to (a form may not
//! redirect off-site under `form-action 'self'`), cancelling keeps the plan to the period's end, and the
//! cancellation can be taken back until then.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Visitor, location};
use crate::common::TestApp;
use crate::fixtures::exec;

#[tokio::test(flavor = "multi_thread")]
async fn upgrading_links_to_squares_checkout_and_cancelling_keeps_the_plan_to_the_period_end_unless_taken_back() {
    let square = MockServer::start().await;
    let base = square.uri();
    let app = TestApp::spawn_with(&[
        ("SQUARE_API_BASE", base.as_str()),
        ("SQUARE_ACCESS_TOKEN", "sq-test-token"),
        ("SQUARE_LOCATION_ID", "LOC1"),
        ("SQUARE_PLAN_PRO", "PLAN_PRO"),
    ])
    .await;
    Mock::given(method("POST"))
        .and(path("/v2/online-checkout/payment-links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "payment_link": {"id": "PL1", "url": "https://square.link/u/pro-link", "order_id": "ORDER1"}
        })))
        .expect(1)
        .mount(&square)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/subscriptions/SUB1/cancel"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"subscription": {"id": "SUB1"}})))
        .expect(1)
        .mount(&square)
        .await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("upgrade@example.com", "UTC").await;

    let page = ada.get("/billing").await;
    assert!(page.text.contains("aria-label=\"Upgrade to Pro\""), "PRO is sold here: {}", page.text);
    assert!(!page.text.contains("aria-label=\"Upgrade to Personal\""), "PERSONAL has no plan here");
    let reply = ada.post("/billing/checkout", &[("csrf", &csrf), ("tier", "PRO")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.text.contains("href=\"https://square.link/u/pro-link\""), "{}", reply.text);

    exec(&app, "UPDATE subscriptions SET square_subscription_id = 'SUB1', tier = 'PRO'").await;
    let page = ada.get("/billing").await;
    assert!(page.text.contains("<strong>Pro</strong>") && page.text.contains("Cancel subscription"));
    let reply = ada.post("/billing/cancel", &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/billing"));
    let page = ada.get("/billing").await;
    assert!(page.text.contains("Cancelled. Your plan stays until the paid period ends."), "{}", page.text);
    assert!(!page.text.contains("Cancel subscription"), "nothing left to cancel");

    // Changed her mind before the period ends: Square's pending cancellation is deleted.
    Mock::given(method("GET"))
        .and(path("/v2/subscriptions/SUB1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"subscription": {
            "id": "SUB1", "status": "ACTIVE", "actions": [{"id": "ACT1", "type": "CANCEL"}]}})))
        .expect(1)
        .mount(&square)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/subscriptions/SUB1/actions/ACT1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&square)
        .await;
    assert!(page.text.contains("Keep my subscription"), "{}", page.text);
    let reply = ada.post("/billing/reactivate", &[("csrf", &csrf)]).await;
    assert_eq!((reply.status, location(&reply).as_str()), (303, "/billing"));
    let page = ada.get("/billing").await;
    assert!(page.text.contains("Your subscription continues"), "{}", page.text);
    assert!(page.text.contains("Cancel subscription") && !page.text.contains("Keep my subscription"));
}
