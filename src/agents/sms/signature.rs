//! Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1 under the account's auth token,
//! over the full URL Twilio requested (query included) followed by every POST parameter as `name` + `value`,
//! sorted by name. Twilio signs the public URL it called, not what a proxy in front of us forwards, so the
//! caller rebuilds that URL from `API_URL`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The signature Twilio sends for `url` and `params`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Repeated names keep a stable order by value, as Twilio's own helpers sort them.
    sorted.sort();
    let mut mac = match Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// True when `header` is the signature of `url` and `params`, compared in constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: Option<&str>) -> bool {
    let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else { return false };
    crate::crypto::constant_time_eq(sign(auth_token, url, params).as_bytes(), header.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .rev()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The example from Twilio's webhook security documentation.
    #[test]
    fn matches_twilios_published_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(sign("12345", url, &params()), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify("12345", url, &params(), Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")));
    }

    #[test]
    fn anything_else_is_refused() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let good = sign("12345", url, &params());
        assert!(!verify("12345", url, &params(), None));
        assert!(!verify("12345", url, &params(), Some("")));
        assert!(!verify("54321", url, &params(), Some(&good)), "another token");
        assert!(!verify("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", &params(), Some(&good)));
        let mut changed = params();
        changed[0].1.push('0');
        assert!(!verify("12345", url, &changed, Some(&good)), "a changed parameter");
    }
}
