//! Rate limits: per user by tier, per IP on the auth routes, per account on failed logins, and the
//! in-process fallback while Redis is unreachable.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{PASSWORD, access, register};
use crate::common::{Reply, TestApp, free_port};

fn header(reply: &Reply, name: &str) -> u64 {
    let value = reply.headers.get(name).unwrap_or_else(|| panic!("{name} missing: {:?}", reply.headers));
    value.to_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn per_user_limit_sets_headers_and_answers_429_with_retry_after_at_the_boundary() {
    // FREE is 100 an hour; 0.03 makes it 3 so the boundary is reachable.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_MULTIPLIER", "0.03")]).await;
    let token = access(&register(&app, "ada@example.com").await);
    for remaining in [2, 1, 0] {
        let reply = app.get("/v1/users/me", Some(&token)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(header(&reply, "x-ratelimit-limit"), 3);
        assert_eq!(header(&reply, "x-ratelimit-remaining"), remaining);
        let reset = header(&reply, "x-ratelimit-reset");
        assert!((1..=3600).contains(&reset), "{reset}");
    }
    let limited = app.get("/v1/users/me", Some(&token)).await;
    limited.assert_error(429, "RATE_LIMITED");
    let retry_after = header(&limited, "retry-after");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&limited, "x-ratelimit-remaining"), 0);
    // Another user has their own budget.
    let other = access(&register(&app, "bob@example.com").await);
    assert_eq!(app.get("/v1/users/me", Some(&other)).await.status, 200);
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eleventh_failed_login_for_an_account_is_refused_before_hashing() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.com").await;
    register(&app, "bob@example.com").await;
    let wrong = json!({"email": "ada@example.com", "password": "wrong password!"});
    let mut hashed = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        app.post("/v1/auth/login", wrong.clone(), None).await.assert_error(401, "UNAUTHORIZED");
        hashed.push(started.elapsed());
    }
    // Even the right password is refused now: the check comes before the password is looked at.
    let mut refused = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let reply = app.post("/v1/auth/login", json!({"email": "ADA@example.com", "password": PASSWORD}), None).await;
        refused.push(started.elapsed());
        reply.assert_error(429, "RATE_LIMITED");
        assert!(reply.headers.contains_key("retry-after"));
    }
    // A refusal costs no argon2 work, so it is far quicker than an attempt that hashed.
    assert!(median(refused.clone()) * 2 < median(hashed.clone()), "refused {refused:?} vs hashed {hashed:?}");
    // The lock is per account.
    let bob = app.post("/v1/auth/login", json!({"email": "bob@example.com", "password": PASSWORD}), None).await;
    assert_eq!(bob.status, 200, "{}", bob.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spoofed_forwarded_for_does_not_reset_the_ip_limit() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_AUTH_PER_MINUTE", "3")]).await;
    let attempt = |forwarded: String| {
        app.client
            .post(app.url("/v1/auth/refresh"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"refreshToken": "ert_nope"}))
            .send()
    };
    for i in 0..3 {
        let reply = Reply::from(attempt(format!("203.0.113.{i}")).await.unwrap()).await;
        reply.assert_error(401, "UNAUTHORIZED");
        assert_eq!(header(&reply, "x-ratelimit-limit"), 3);
        assert_eq!(header(&reply, "x-ratelimit-remaining"), 2 - i);
    }
    let reply = Reply::from(attempt("198.51.100.7".to_owned()).await.unwrap()).await;
    reply.assert_error(429, "RATE_LIMITED");
    assert!(reply.headers.contains_key("retry-after"));

    // Behind a trusted proxy the forwarded address is the client, so each gets its own bucket.
    let proxied =
        TestApp::spawn_with(&[("RATE_LIMIT_AUTH_PER_MINUTE", "3"), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    for i in 0..5 {
        let res = proxied
            .client
            .post(proxied.url("/v1/auth/refresh"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({"refreshToken": "ert_nope"}))
            .send()
            .await
            .unwrap();
        Reply::from(res).await.assert_error(401, "UNAUTHORIZED");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_hold_in_process_when_redis_is_unreachable() {
    let closed = format!("redis://127.0.0.1:{}", free_port());
    let app = TestApp::spawn_with(&[
        ("REDIS_URL", &closed),
        ("RATE_LIMIT_AUTH_PER_MINUTE", "2"),
        ("RATE_LIMIT_MULTIPLIER", "0.02"),
    ])
    .await;
    let token = access(&register(&app, "ada@example.com").await);
    for remaining in [1, 0] {
        let reply = app.get("/v1/users/me", Some(&token)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(header(&reply, "x-ratelimit-remaining"), remaining);
    }
    app.get("/v1/users/me", Some(&token)).await.assert_error(429, "RATE_LIMITED");
    // Register was the first auth hit of this IP; one more is allowed, then 429.
    app.post("/v1/auth/refresh", json!({"refreshToken": "ert_nope"}), None).await.assert_error(401, "UNAUTHORIZED");
    app.post("/v1/auth/refresh", json!({"refreshToken": "ert_nope"}), None).await.assert_error(429, "RATE_LIMITED");
}

/// `POST path` as a client behind the trusted proxy: `forwarded` holds the `X-Forwarded-For` lines in order.
async fn via_proxy(app: &TestApp, path: &str, forwarded: &[&str], body: serde_json::Value) -> Reply {
    let mut request = app.client.post(app.url(path)).json(&body);
    for line in forwarded {
        request = request.header("x-forwarded-for", *line);
    }
    Reply::from(request.send().await.unwrap()).await
}

fn behind_proxy(limit: &'static str) -> [(&'static str, &'static str); 2] {
    [("RATE_LIMIT_AUTH_PER_MINUTE", limit), ("TRUSTED_PROXIES", "127.0.0.1/32")]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_behind_the_proxy_cannot_escape_the_ip_limit_with_its_own_forwarded_line() {
    let app = TestApp::spawn_with(&behind_proxy("3")).await;
    let refresh = || json!({"refreshToken": "ert_nope"});
    // The client sends a fresh made-up address each time; the proxy appends the real one as its own line.
    for i in 0..3 {
        let spoofed = format!("203.0.113.{i}");
        let reply = via_proxy(&app, "/v1/auth/refresh", &[&spoofed, "198.51.100.7"], refresh()).await;
        reply.assert_error(401, "UNAUTHORIZED");
        assert_eq!(header(&reply, "x-ratelimit-remaining"), 2 - i);
    }
    let reply = via_proxy(&app, "/v1/auth/refresh", &["203.0.113.99", "198.51.100.7"], refresh()).await;
    reply.assert_error(429, "RATE_LIMITED");
    assert!(reply.headers.contains_key("retry-after"));
    // The same in one comma list, and another real client keeps its own budget.
    via_proxy(&app, "/v1/auth/refresh", &["203.0.113.98, 198.51.100.7"], refresh())
        .await
        .assert_error(429, "RATE_LIMITED");
    via_proxy(&app, "/v1/auth/refresh", &["203.0.113.97", "198.51.100.8"], refresh())
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_address_of_one_ipv6_slash_64_shares_one_ip_limit() {
    let app = TestApp::spawn_with(&behind_proxy("3")).await;
    let refresh = || json!({"refreshToken": "ert_nope"});
    for (i, address) in
        ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd:ef01:2345:6789"].into_iter().enumerate()
    {
        let reply = via_proxy(&app, "/v1/auth/refresh", &[address], refresh()).await;
        reply.assert_error(401, "UNAUTHORIZED");
        assert_eq!(header(&reply, "x-ratelimit-remaining"), 2 - i as u64);
    }
    via_proxy(&app, "/v1/auth/refresh", &["2001:db8:1:2:ffff:ffff:ffff:fffe"], refresh())
        .await
        .assert_error(429, "RATE_LIMITED");
    // The next /64 is another subscriber.
    via_proxy(&app, "/v1/auth/refresh", &["2001:db8:1:3::1"], refresh()).await.assert_error(401, "UNAUTHORIZED");
}

fn login_as(password: &str) -> serde_json::Value {
    json!({"email": "ada@example.com", "password": password})
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_from_one_network_block_that_network_and_not_the_owner() {
    let app = TestApp::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    register(&app, "ada@example.com").await;
    for _ in 0..10 {
        via_proxy(&app, "/v1/auth/login", &["203.0.113.5"], login_as("wrong password!"))
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    // From the guesser's network every further attempt is refused unhashed, even with the right password.
    for password in ["wrong password!", PASSWORD] {
        let refused = via_proxy(&app, "/v1/auth/login", &["203.0.113.5"], login_as(password)).await;
        refused.assert_error(429, "RATE_LIMITED");
    }
    // The owner, from home, signs in at once.
    let owner = via_proxy(&app, "/v1/auth/login", &["198.51.100.20"], login_as(PASSWORD)).await;
    assert_eq!(owner.status, 200, "{}", owner.text);
    // And the guesser is still blocked for the rest of the window.
    let refused = via_proxy(&app, "/v1/auth/login", &["203.0.113.5"], login_as("wrong password!")).await;
    refused.assert_error(429, "RATE_LIMITED");
    assert!(header(&refused, "retry-after") > 60, "{:?}", refused.headers);
}

#[tokio::test(flavor = "multi_thread")]
async fn guesses_from_many_networks_slow_the_account_down_for_seconds_not_lock_it() {
    let app = TestApp::spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    register(&app, "ada@example.com").await;
    // Thirty wrong passwords, ten from each of three networks: each network's allowance, all hashed. (Three
    // at a time: a login holds a pooled connection while it waits for the hashing pool.)
    for _ in 0..10 {
        let round = (0..3).map(|i| {
            let network = format!("203.0.113.{i}");
            let app = &app;
            async move { via_proxy(app, "/v1/auth/login", &[&network], login_as("wrong password!")).await }
        });
        for reply in futures_util::future::join_all(round).await {
            reply.assert_error(401, "UNAUTHORIZED");
        }
    }
    // Past that the account takes one attempt per pause, whatever the network: of five at once, one is checked.
    let burst = (0..5).map(|i| {
        let network = format!("192.0.2.{i}");
        let app = &app;
        async move { via_proxy(app, "/v1/auth/login", &[&network], login_as("wrong password!")).await }
    });
    let burst = futures_util::future::join_all(burst).await;
    let slowed: Vec<&Reply> = burst.iter().filter(|reply| reply.status == 429).collect();
    assert_eq!(slowed.len(), 4, "{:?}", burst.iter().map(|r| r.status).collect::<Vec<_>>());
    for reply in &slowed {
        reply.assert_error(429, "RATE_LIMITED");
        assert!((1..=60).contains(&header(reply, "retry-after")), "a short pause: {:?}", reply.headers);
    }
    // The owner waits the pause out and gets in; it is not a 15-minute lock.
    let wait = slowed.iter().map(|reply| header(reply, "retry-after")).max().unwrap_or(1);
    tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
    let owner = via_proxy(&app, "/v1/auth/login", &["198.51.100.20"], login_as(PASSWORD)).await;
    assert_eq!(owner.status, 200, "{}", owner.text);
    // The pauses grow while the guessing goes on: the next attempt waits longer than the first one did.
    let next = via_proxy(&app, "/v1/auth/login", &["192.0.2.77"], login_as("wrong password!")).await;
    next.assert_error(429, "RATE_LIMITED");
    assert!((wait + 1..=60).contains(&header(&next, "retry-after")), "{:?}", next.headers);
}
