//! Family sharing in Chromium: the owner invites on /family, the invited person joins from the mailed link,
//! the owner shares a reminder on its page, the member marks it done on /family; screenshots of each page at
//! both widths.

use fantoccini::Client;

use super::{Driver, click, fill, path_of, shoot, sign_in, text_of};
use crate::fixtures::{create, once_body, user};

async fn sign_out(client: &Client) {
    click(client, "form.signout button").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_family_shares_a_reminder_and_the_member_marks_it_done() {
    let driver = Driver::start().await;
    let (app, outbox) = crate::family::spawn("api", "FAMILY", "").await;
    let owner = user(&app, "owner@example.com").await;
    user(&app, "sam@example.com").await;
    let reminder = create(&app, &owner, once_body("Water the plants")).await["id"].as_str().expect("id").to_owned();
    let client = driver.browser(true).await;

    sign_in(&client, &app, "owner@example.com").await;
    client.goto(&app.url("/family")).await.expect("family page");
    shoot(&client, "family-empty").await;
    fill(&client, "#email", "sam@example.com").await;
    click(&client, "form[action='/family/invite'] button[type=submit]").await;
    assert_eq!(path_of(&client).await, "/family");
    let text = text_of(&client).await;
    assert!(text.contains("Invitation sent to sam@example.com") && text.contains("invited"), "{text}");
    sign_out(&client).await;

    sign_in(&client, &app, "sam@example.com").await;
    let token = crate::family::invitation_token(&outbox, "sam@example.com");
    client.goto(&app.url(&format!("/family/join/{token}"))).await.expect("join page");
    shoot(&client, "family-join").await;
    click(&client, "form[action^='/family/join/'] button[type=submit]").await;
    let text = text_of(&client).await;
    assert!(text.contains("You joined Ada's family"), "{text}");
    sign_out(&client).await;

    sign_in(&client, &app, "owner@example.com").await;
    client.goto(&app.url(&format!("/reminders/{reminder}"))).await.expect("reminder page");
    client
        .find(fantoccini::Locator::Css("#share-1"))
        .await
        .expect("a member to share with")
        .click()
        .await
        .expect("tick");
    click(&client, &format!("form[action='/reminders/{reminder}/shares'] button[type=submit]")).await;
    let text = text_of(&client).await;
    assert!(text.contains("Shared with Ada."), "{text}");
    shoot(&client, "reminder-shared").await;
    client.goto(&app.url("/family")).await.expect("family page");
    assert!(text_of(&client).await.contains("member"));
    shoot(&client, "family-owner").await;
    sign_out(&client).await;

    sign_in(&client, &app, "sam@example.com").await;
    client.goto(&app.url("/family")).await.expect("family page");
    let text = text_of(&client).await;
    assert!(text.contains("Water the plants") && text.contains("From Ada"), "{text}");
    shoot(&client, "family-member").await;
    click(&client, &format!("form[action='/family/shared/{reminder}/complete'] button")).await;
    let text = text_of(&client).await;
    assert!(text.contains("Marked \u{201c}Water the plants\u{201d} as done for Ada."), "{text}");
    client.close().await.expect("session closes");
}
