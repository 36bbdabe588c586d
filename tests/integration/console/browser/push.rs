//! Browser push in Chromium: "Notify me in this browser" asks for permission, registers the real service
//! worker (`/sw.js`) and posts the subscription with the form; a test send then reaches the push service
//! encrypted to that subscription. Headless Chromium cannot reach a real push service (there is no network
//! here), so the test stands in for `PushManager.subscribe` with a subscription whose keys the test holds;
//! the permission prompt is answered the same way. Everything else — the page's script, the worker's
//! registration, the form, the server — is the real thing.

use super::{Driver, click, path_of, shoot, sign_in, text_of};
use crate::common::TestApp;
use crate::fixtures::user;
use crate::push::{Browser, push_service, vapid_claims};

#[tokio::test(flavor = "multi_thread")]
async fn notify_me_in_this_browser_stores_a_subscription_that_a_test_send_reaches() {
    let service = push_service(201).await;
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let token = user(&app, "browser@example.com").await;
    let browser = Browser::new(&service);
    let client = driver.browser(true).await;
    sign_in(&client, &app, "browser@example.com").await;
    client.goto(&app.url("/channels")).await.expect("channels page");
    shoot(&client, "channels-push").await;

    let stand_in = "var sub = arguments[0]; \
        Notification.requestPermission = function () { return Promise.resolve('granted'); }; \
        PushManager.prototype.getSubscription = function () { return Promise.resolve(null); }; \
        PushManager.prototype.subscribe = function (options) { \
          window.askedWith = options; \
          return Promise.resolve({ options: options, toJSON: function () { return sub; } }); }; \
        return true;";
    client.execute(stand_in, vec![browser.subscription()]).await.expect("stand-ins installed");
    click(&client, "form[data-push-key] button[type=submit]").await;
    assert!(path_of(&client).await.starts_with("/channels/"), "the new channel's page");
    let text = text_of(&client).await;
    assert!(text.contains("Browser push channel added") && text.contains("Chrome on Linux"), "{text}");
    shoot(&client, "channel-push").await;

    let worker = client
        .execute_async(
            "var done = arguments[arguments.length - 1]; \
             navigator.serviceWorker.getRegistration('/').then(function (r) { \
               done(r && r.active ? r.active.scriptURL : 'none'); });",
            vec![],
        )
        .await
        .expect("script runs");
    assert!(worker.as_str().unwrap_or_default().ends_with("/sw.js"), "the service worker is active: {worker}");

    let listed = app.get("/v1/agents/subscriptions", Some(&token)).await;
    let channels = listed.data(200).as_array().expect("a list").clone();
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0]["agentType"], "push");

    click(&client, "form[action$='/test'] button[type=submit]").await;
    let text = text_of(&client).await;
    assert!(text.contains("Test sent"), "{text}");
    let requests = service.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    vapid_claims(&requests[0], &service, &app);
    let note = browser.decrypt(&requests[0].body);
    assert_eq!(note["title"], "Test: Test notification");
}
