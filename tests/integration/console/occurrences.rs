//! The reminder form's next five times: listed with the form, after its "Show the next 5 times" button
//! without a script (nothing saved, everything typed kept, a bad schedule's error by its field), and as the
//! fragment the script fetches while typing.

use super::{Visitor, csrf_of};
use crate::common::TestApp;
use crate::fixtures::{GENTLE, scalar};

/// The times listed in the region of `kind` on `html` (empty when it lists none).
fn listed(html: &str, kind: &str) -> Vec<String> {
    let start = html.find(&format!("id=\"upcoming-{kind}\"")).unwrap_or_else(|| panic!("no region {kind}: {html}"));
    let region = &html[start..html[start..].find("</div>").map_or(html.len(), |end| start + end)];
    region.split("<time").skip(1).filter_map(|t| t.split('>').nth(1)?.split('<').next()).map(str::to_owned).collect()
}

async fn reminders(app: &TestApp) -> String {
    scalar(app, "SELECT count(*)::text AS value FROM reminders").await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_form_lists_the_next_five_times_and_previews_without_saving() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("occurrences@example.com", "Asia/Tokyo").await;

    // The new form already lists the default schedule's next five times on the user's clock.
    let form = ada.get("/reminders/new").await;
    let times = listed(&form.text, "daily");
    assert_eq!(times.len(), 5, "{}", form.text);
    assert!(times.iter().all(|t| t.ends_with(", 09:00")), "{times:?}");
    assert!(form.text.contains("aria-live=\"polite\"") && form.text.contains("(Asia/Tokyo)"), "{}", form.text);

    // The preview button: weekday mornings by cron, nothing stored, the typed values kept.
    let preview = |cron: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("title", "stand up".to_owned()),
            ("kind", "cron".to_owned()),
            ("cron", cron.to_owned()),
            ("profile", GENTLE.to_owned()),
            ("importance", "high".to_owned()),
            ("op", "preview".to_owned()),
        ]
    };
    let fields = preview("30 6 * * 1-5");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let shown = ada.post("/reminders", &fields).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    let times = listed(&shown.text, "cron");
    assert_eq!(times.len(), 5, "{}", shown.text);
    assert!(
        times.iter().all(|t| t.ends_with(", 06:30") && !t.starts_with("Sat") && !t.starts_with("Sun")),
        "{times:?}"
    );
    assert!(shown.text.contains("value=\"stand up\"") && shown.text.contains("value=\"30 6 * * 1-5\""));
    assert!(shown.text.contains("id=\"kind-cron\" name=\"kind\" value=\"cron\" checked"));
    assert_eq!(reminders(&app).await, "0", "a preview saves nothing");

    // A schedule that does not read: its error by its field, what was typed kept, nothing listed.
    let fields = preview("every morning");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = ada.post("/reminders", &fields).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text.contains("id=\"cron-error\"") && refused.text.contains("value=\"every morning\""));
    assert!(listed(&refused.text, "cron").is_empty());
    assert_eq!(reminders(&app).await, "0");

    // The fragment the script fetches: a weekly rule from its start, read on the user's clock.
    let query = "kind=rrule&rrule=FREQ%3DWEEKLY%3BBYDAY%3DSU&rrule_start=2030-01-06T10%3A15&title=ignored";
    let fragment = ada.get(&format!("/reminders/occurrences?{query}")).await;
    assert_eq!(fragment.status, 200);
    assert!(!fragment.text.contains("<html"), "a fragment, not a page");
    let wrapped = format!("<div id=\"upcoming-rrule\">{}</div>", fragment.text);
    let times = listed(&wrapped, "rrule");
    assert_eq!(
        times,
        [
            "Sun 6 Jan 2030, 10:15",
            "Sun 13 Jan 2030, 10:15",
            "Sun 20 Jan 2030, 10:15",
            "Sun 27 Jan 2030, 10:15",
            "Sun 3 Feb 2030, 10:15"
        ]
    );
    let bad = ada.get("/reminders/occurrences?kind=interval&interval_minutes=0").await;
    assert!(bad.text.contains("class=\"error\"") && !bad.text.contains("<time"), "{}", bad.text);
    let mut stranger = Visitor::new(&app);
    assert_eq!(stranger.get("/reminders/occurrences?kind=daily&daily_at=09:00").await.status, 303, "signed in only");

    // On the edit form too: the preview shows the new time and the stored reminder stays as it was.
    let id = ada.create_daily(&csrf, "take pills", "21:00").await;
    let edit = ada.get(&format!("/reminders/{id}/edit")).await;
    assert!(listed(&edit.text, "daily").iter().all(|t| t.ends_with(", 21:00")), "{}", edit.text);
    let token = csrf_of(&edit.text);
    let version = scalar(&app, &format!("SELECT version::text AS value FROM reminders WHERE id = '{id}'")).await;
    let fields = [
        ("csrf", token.as_str()),
        ("title", "take pills"),
        ("kind", "daily"),
        ("daily_at", "07:45"),
        ("profile", GENTLE),
        ("importance", "medium"),
        ("version", version.as_str()),
        ("op", "preview"),
    ];
    let shown = ada.post(&format!("/reminders/{id}/edit"), &fields).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(listed(&shown.text, "daily").iter().all(|t| t.ends_with(", 07:45")), "{}", shown.text);
    let stored = format!("SELECT expression AS value FROM reminder_schedules WHERE reminder_id = '{id}'");
    assert_eq!(scalar(&app, &stored).await, "0 21 * * *");
}

/// "Every week on Sunday at 10:30": its next five Sundays listed, saved as a cron in the user's zone, and read
/// back as a weekly reminder by the edit form.
#[tokio::test(flavor = "multi_thread")]
async fn a_weekly_reminder_lists_its_sundays_and_reads_back_as_weekly() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("weekly@example.com", "Europe/Berlin").await;
    let fields = |op: &'static str| {
        [
            ("csrf", csrf.as_str()),
            ("title", "call mum"),
            ("kind", "weekly"),
            ("weekly_day", "0"),
            ("weekly_at", "10:30"),
            ("profile", GENTLE),
            ("importance", "medium"),
            ("op", op),
        ]
    };
    let shown = ada.post("/reminders", &fields("preview")).await;
    let times = listed(&shown.text, "weekly");
    assert_eq!(times.len(), 5, "{}", shown.text);
    assert!(times.iter().all(|t| t.starts_with("Sun ") && t.ends_with(", 10:30")), "{times:?}");
    assert!(shown.text.contains("<option value=\"0\" selected>Sunday</option>"), "the day stays chosen");

    let created = ada.post("/reminders", &fields("")).await;
    assert_eq!(created.status, 303, "{}", created.text);
    let id = super::location(&created).trim_start_matches("/reminders/").to_owned();
    let stored =
        format!("SELECT expression || ' ' || timezone AS value FROM reminder_schedules WHERE reminder_id = '{id}'");
    assert_eq!(scalar(&app, &stored).await, "30 10 * * 0 Europe/Berlin");
    let edit = ada.get(&format!("/reminders/{id}/edit")).await;
    assert!(edit.text.contains("id=\"kind-weekly\" name=\"kind\" value=\"weekly\" checked"), "{}", edit.text);
    assert!(edit.text.contains("value=\"10:30\"") && edit.text.contains("<option value=\"0\" selected>Sunday"));
    assert_eq!(listed(&edit.text, "weekly").len(), 5);

    let refused = ada
        .post(
            "/reminders",
            &[
                ("csrf", csrf.as_str()),
                ("title", "x"),
                ("kind", "weekly"),
                ("weekly_day", "0"),
                ("weekly_at", "half ten"),
                ("profile", GENTLE),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.text.contains("id=\"weekly_at-error\"") && refused.text.contains("value=\"half ten\""));
}

/// A once reminder given in words ("tomorrow 9am"): the echo of what it was read as, live and after the
/// preview button, and again when it is created; words that do not read are an error by their field.
#[tokio::test(flavor = "multi_thread")]
async fn a_time_in_words_is_echoed_before_and_after_creating() {
    let app = TestApp::spawn().await;
    let mut ada = Visitor::new(&app);
    let csrf = ada.sign_up("words@example.com", "America/New_York").await;
    let fields = |words: &'static str, op: &'static str| {
        [
            ("csrf", csrf.as_str()),
            ("title", "dentist"),
            ("kind", "once"),
            ("once_words", words),
            ("profile", GENTLE),
            ("importance", "medium"),
            ("op", op),
        ]
    };
    let fragment = ada.get("/reminders/occurrences?kind=once&once_words=tomorrow+9am").await;
    assert!(
        fragment.text.contains("Interpreted as ") && fragment.text.contains(" 09:00 America/New_York"),
        "{}",
        fragment.text
    );
    let shown = ada.post("/reminders", &fields("tomorrow 9am", "preview")).await;
    assert_eq!(shown.status, 200);
    let times = listed(&shown.text, "once");
    assert!(times.len() == 1 && times[0].ends_with(", 09:00"), "{times:?}");
    assert!(shown.text.contains("Interpreted as ") && shown.text.contains("value=\"tomorrow 9am\""));

    let refused = ada.post("/reminders", &fields("when pigs fly", "")).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text.contains("id=\"once_words-error\"") && refused.text.contains("value=\"when pigs fly\""));
    let created = ada.post("/reminders", &fields("tomorrow 9am", "")).await;
    assert_eq!(created.status, 303, "{}", created.text);
    let page = ada.get(&super::location(&created)).await;
    assert!(
        page.text.contains("Reminder created. Interpreted as ") && page.text.contains("09:00 America/New_York"),
        "{}",
        page.text
    );
}
