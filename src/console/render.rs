//! Rendering: the templates (minijinja, autoescaped), the page headers, and the few filters that show
//! instants on the viewer's clock.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, Value};
use serde::Serialize;

use crate::http::{HtmlPage, assets};

/// No inline script or style anywhere: our own files only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

#[expect(clippy::expect_used, reason = "built-in templates are parsed by the unit tests; a broken one never ships")]
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("macros.html", include_str!("templates/macros.html")),
        ("login.html", include_str!("templates/login.html")),
        ("signup.html", include_str!("templates/signup.html")),
        ("dashboard.html", include_str!("templates/dashboard.html")),
        ("family.html", include_str!("templates/family.html")),
        ("family_join.html", include_str!("templates/family_join.html")),
        ("reminders.html", include_str!("templates/reminders.html")),
        ("reminder_new.html", include_str!("templates/reminder_new.html")),
        ("occurrences.html", include_str!("templates/occurrences.html")),
        ("reminder.html", include_str!("templates/reminder.html")),
        ("settings.html", include_str!("templates/settings.html")),
        ("billing_return.html", include_str!("templates/billing_return.html")),
        ("billing.html", include_str!("templates/billing.html")),
        ("notifications.html", include_str!("templates/notifications.html")),
        ("channels.html", include_str!("templates/channels.html")),
        ("channel.html", include_str!("templates/channel.html")),
        ("error.html", include_str!("templates/error.html")),
        ("contacts.html", include_str!("templates/contacts.html")),
        ("contact_hours.html", include_str!("templates/contact_hours.html")),
        ("contact_edit.html", include_str!("templates/contact_edit.html")),
        ("contact_remove.html", include_str!("templates/contact_remove.html")),
        ("timeline.html", include_str!("templates/timeline.html")),
        ("calendars.html", include_str!("templates/calendars.html")),
        ("profiles.html", include_str!("templates/profiles.html")),
        ("profile.html", include_str!("templates/profile.html")),
        ("profile_delete.html", include_str!("templates/profile_delete.html")),
        ("evidence.html", include_str!("templates/evidence.html")),
        ("password_forgot.html", include_str!("templates/password_forgot.html")),
        ("password_reset.html", include_str!("templates/password_reset.html")),
        ("verify_email.html", include_str!("templates/verify_email.html")),
        ("getting_started.html", include_str!("templates/getting_started.html")),
        ("charts.html", include_str!("templates/charts.html")),
        ("admin_nav.html", include_str!("templates/admin_nav.html")),
        ("admin_dashboard.html", include_str!("templates/admin_dashboard.html")),
        ("admin_users.html", include_str!("templates/admin_users.html")),
        ("admin_user.html", include_str!("templates/admin_user.html")),
        ("admin_audit.html", include_str!("templates/admin_audit.html")),
        ("admin_health.html", include_str!("templates/admin_health.html")),
        ("admin_settings.html", include_str!("templates/admin_settings.html")),
        ("admin_admins.html", include_str!("templates/admin_admins.html")),
    ] {
        // Compiled into the binary and rendered by the tests: a broken one never ships.
        env.add_template(name, source).expect("built-in console template parses");
    }
    env.set_formatter(escape);
    env.add_filter("local", local);
    env.add_filter("clock", clock);
    env.add_global("css_url", assets::css_url());
    env.add_global("js_url", assets::js_url());
    env.add_global("icon_url", assets::icon_url());
    env.add_global("apple_touch_icon_url", assets::apple_touch_icon_url());
    env
});

/// Escapes `& < > " '` in HTML templates, as every attribute and text position needs; unlike minijinja's
/// default it leaves `/` alone, so paths and zone names read as typed in the page source.
fn escape(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), minijinja::Error> {
    let plain = value.as_str().filter(|_| state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe());
    let Some(text) = plain else { return minijinja::escape_formatter(out, state, value) };
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    Ok(out.write_str(&escaped)?)
}

fn instant_in(value: &str, zone: &str) -> Option<chrono::DateTime<Tz>> {
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(value).ok()?.with_timezone(&Utc);
    Some(at.with_timezone(&reminder_core::timezone::parse_zone(zone).unwrap_or(chrono_tz::UTC)))
}

/// `{{ at|local(zone) }}`: "Mon 7 Dec 2026, 21:00" on the viewer's clock; "—" for none.
fn local(value: Value, zone: String) -> String {
    value
        .as_str()
        .and_then(|text| instant_in(text, &zone))
        .map_or_else(|| "—".to_owned(), |at| at.format("%a %-d %b %Y, %H:%M").to_string())
}

/// `{{ at|clock(zone) }}`: "21:00" on the viewer's clock.
fn clock(value: Value, zone: String) -> String {
    value
        .as_str()
        .and_then(|text| instant_in(text, &zone))
        .map_or_else(String::new, |at| at.format("%H:%M").to_string())
}

/// Renders `name` into a page with the console's headers.
pub fn page(status: StatusCode, name: &str, context: impl Serialize) -> HttpResponse {
    match TEMPLATES.get_template(name).and_then(|template| template.render(context)) {
        Ok(body) => html(status, body),
        Err(err) => {
            tracing::error!(error = %err, template = name, "console template failed to render");
            html(StatusCode::INTERNAL_SERVER_ERROR, FALLBACK.to_owned())
        }
    }
}

/// A plain page when rendering itself failed.
const FALLBACK: &str = "<!doctype html><html lang=\"en\"><title>Error</title><main><h1>Something went wrong</h1>\
                        <p>Please try again in a moment.</p></main></html>";

/// HTML with the console's security headers.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    let mut response = response.body(body);
    response.extensions_mut().insert(HtmlPage);
    response
}

/// A 303 to `location` (after a POST, or to the sign-in page), carrying the console's marker.
pub fn redirect(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.insert_header((header::LOCATION, value));
    }
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    let mut response = response.finish();
    response.extensions_mut().insert(HtmlPage);
    response
}

/// The error page: a heading, a sentence, and a way back.
pub fn error(status: StatusCode, heading: &str, message: &str) -> HttpResponse {
    page(status, "error.html", minijinja::context! { heading, message, status => status.as_u16() })
}

/// The 404 page.
pub fn not_found() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address. It may have moved, or the link may be wrong.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_values_are_escaped() {
        let response = error(StatusCode::NOT_FOUND, "<script>", "x");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = TEMPLATES.get_template("error.html").unwrap().render(minijinja::context! {
            heading => "<script>alert(1)</script>", message => "m", status => 404
        });
        let body = body.unwrap();
        assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{body}");
        let quoted = TEMPLATES.get_template("error.html").unwrap().render(minijinja::context! {
            heading => "h", message => "\"'><&", status => 404
        });
        let quoted = quoted.unwrap();
        assert!(quoted.contains("&quot;&#x27;&gt;&lt;&amp;"), "{quoted}");
    }

    #[test]
    fn instants_read_on_the_viewers_clock() {
        assert_eq!(local(Value::from("2026-12-07T20:00:00Z"), "Europe/Berlin".into()), "Mon 7 Dec 2026, 21:00");
        assert_eq!(clock(Value::from("2026-12-07T20:00:00Z"), "UTC".into()), "20:00");
        assert_eq!(local(Value::from(()), "UTC".into()), "—");
    }
}
