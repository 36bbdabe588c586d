//! Refuses NUL bytes and invalid UTF-8 in the parts of a request that handlers read: the path, the query
//! string and the header values we look at. Postgres refuses a NUL in text ("invalid byte sequence for
//! encoding"), which surfaced as a 500 (`GET /v1/reminders?q=%00`); a client error is the honest answer, and
//! checking once at the edge keeps every handler and store free of the question.

use actix_web::dev::ServiceRequest;
use percent_encoding::percent_decode_str;

/// Header values some part of the app reads. Others are passed over: a proxy's odd `Via` is not our concern.
const READ_HEADERS: [&str; 12] = [
    "authorization",
    "x-api-key",
    "idempotency-key",
    "content-type",
    "cookie",
    "x-forwarded-for",
    "x-request-id",
    "user-agent",
    "x-twilio-signature",
    "x-square-hmacsha256-signature",
    "webhook-signature",
    "origin",
];

/// What is wrong with the request's bytes, if anything: a message for the 400.
pub fn problem(req: &ServiceRequest) -> Option<&'static str> {
    let uri = req.uri();
    if !clean(uri.path()) {
        return Some("The path contains a NUL byte or invalid UTF-8.");
    }
    if uri.query().is_some_and(|query| !clean(query)) {
        return Some("The query string contains a NUL byte or invalid UTF-8.");
    }
    let bad_header = READ_HEADERS
        .iter()
        .flat_map(|name| req.headers().get_all(*name))
        .any(|value| std::str::from_utf8(value.as_bytes()).map_or(true, |text| text.contains('\0')));
    bad_header.then_some("A header value contains a NUL byte or invalid UTF-8.")
}

/// True when the percent-decoded text is UTF-8 without NUL.
fn clean(encoded: &str) -> bool {
    let decoded: Vec<u8> = percent_decode_str(encoded).collect();
    !decoded.contains(&0) && std::str::from_utf8(&decoded).is_ok()
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn nul_and_broken_utf8_are_refused_wherever_they_are_encoded() {
        assert!(clean("q=take%20pills&page=2"));
        assert!(clean("q=%C3%A9t%C3%A9"));
        assert!(!clean("q=%00"));
        assert!(!clean("q=%ff"));
        assert!(!clean("q=%C3"));
        assert!(!clean("/v1/hooks/abc%00"));
    }
}
