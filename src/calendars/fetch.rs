//! Fetching a calendar: a secret ICS address with a conditional GET (ETag, Last-Modified), or a CalDAV
//! collection with a `calendar-query` REPORT for the window. Through the SSRF-guarded client; every failure
//! is a sentence the owner can act on.

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode, header};

use super::model::Source;

/// Bodies larger than this are refused rather than read.
pub const MAX_BODY: usize = 5 * 1024 * 1024;

/// What a fetch brought back.
pub enum Body {
    /// The source is unchanged since the validators given.
    NotModified,
    /// iCalendar documents (one for an ICS address, one per event resource for CalDAV), with the validators
    /// to send next time.
    Documents { documents: Vec<String>, etag: Option<String>, last_modified: Option<String> },
}

/// The validators of the last fetch, sent when the stored instances still cover the window.
pub struct Validators<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

pub async fn ics(client: &reqwest::Client, source: &Source, validators: Validators<'_>) -> Result<Body, String> {
    let mut request = client.get(&source.url).header(header::ACCEPT, "text/calendar, */*;q=0.5");
    if let Some(etag) = validators.etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    if let Some(modified) = validators.last_modified {
        request = request.header(header::IF_MODIFIED_SINCE, modified);
    }
    let response = request.send().await.map_err(|err| transport(&err, source))?;
    if response.status() == StatusCode::NOT_MODIFIED {
        return Ok(Body::NotModified);
    }
    check_status(response.status(), false)?;
    let header_text = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (etag, last_modified) = (header_text(header::ETAG), header_text(header::LAST_MODIFIED));
    let body = read_capped(response).await?;
    Ok(Body::Documents { documents: vec![body], etag, last_modified })
}

/// The `calendar-query` of RFC 4791 for the events overlapping `from..to`.
fn calendar_query(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let at = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{}" end="{}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"#,
        at(from),
        at(to)
    )
}

pub async fn caldav(
    client: &reqwest::Client,
    source: &Source,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Body, String> {
    let report = Method::from_bytes(b"REPORT").map_err(|err| err.to_string())?;
    let response = client
        .request(report, &source.url)
        .basic_auth(source.user.as_deref().unwrap_or(""), source.password.as_deref())
        .header("Depth", "1")
        .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(calendar_query(from, to))
        .send()
        .await
        .map_err(|err| transport(&err, source))?;
    check_status(response.status(), true)?;
    let body = read_capped(response).await?;
    Ok(Body::Documents { documents: calendar_data(&body)?, etag: None, last_modified: None })
}

/// Every `calendar-data` of a multistatus answer.
fn calendar_data(xml: &str) -> Result<Vec<String>, String> {
    let document = roxmltree::Document::parse(xml).map_err(|err| {
        format!("The CalDAV server's answer is not XML ({err}); is this a calendar collection's URL?")
    })?;
    let caldav = "urn:ietf:params:xml:ns:caldav";
    if document.root_element().tag_name().name() != "multistatus" {
        return Err("The CalDAV server did not answer with a multistatus; is this a calendar collection's URL?".into());
    }
    Ok(document
        .descendants()
        .filter(|n| n.tag_name().name() == "calendar-data" && n.tag_name().namespace() == Some(caldav))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect())
}

fn check_status(status: StatusCode, caldav: bool) -> Result<(), String> {
    match status.as_u16() {
        200 | 207 => Ok(()),
        401 | 403 if caldav => {
            Err(format!("The CalDAV server refused the user name or app password (HTTP {}).", status.as_u16()))
        }
        401 | 403 => Err(format!(
            "The calendar refused the address (HTTP {}); it may have been reset. Copy the secret address again.",
            status.as_u16()
        )),
        404 | 410 => Err(format!("No calendar at that address (HTTP {}).", status.as_u16())),
        300..=399 => {
            Err(format!("The address redirects elsewhere (HTTP {}); give the final address.", status.as_u16()))
        }
        code => Err(format!("The calendar server answered HTTP {code}.")),
    }
}

fn transport(err: &reqwest::Error, source: &Source) -> String {
    let host = url::Url::parse(&source.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    if let Some(refused) = crate::agents::ssrf::Refused::behind(err) {
        return format!("{host} is not reachable from here: {}", refused.0);
    }
    if err.is_timeout() {
        return format!("{host} did not answer in time.");
    }
    format!("Could not reach {host}: the connection failed.")
}

/// The body, refusing anything past [`MAX_BODY`] (counted while reading; Content-Length may lie).
async fn read_capped(mut response: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|_| "The connection broke while reading the calendar.".to_owned())?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(format!("The calendar is larger than {} MiB.", MAX_BODY / 1024 / 1024));
        }
    }
    String::from_utf8(body).map_err(|_| "The calendar is not UTF-8 text.".to_owned())
}
