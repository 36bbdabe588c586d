//! SSRF guard for user-supplied URLs: checked when the address is known, at connect time, so a name
//! that resolves to a private address (or changes to one later) is refused just the same.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// True for addresses a webhook must never reach: loopback, private, link-local (cloud metadata),
/// CGNAT, multicast, unspecified, documentation/benchmark ranges, and IPv6 forms that embed IPv4.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return forbidden_v4(Ipv4Addr::new(
                    (segments[6] >> 8) as u8,
                    segments[6] as u8,
                    (segments[7] >> 8) as u8,
                    segments[7] as u8,
                ));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local
                || (segments[0] & 0xffc0) == 0xfe80 // link local
                || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) // AWS metadata over IPv6
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // CGNAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
}

/// Turns a host name into addresses. Production asks the system resolver; tests pass a fixed table, so a
/// name that resolves to a forbidden address is tried without DNS (and without the internet).
pub type Lookup = Arc<dyn Fn(String) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> + Send + Sync>;

/// A resolver that drops forbidden addresses, so the connection can only go to a public one.
#[derive(Default)]
pub struct GuardedResolver {
    lookup: Option<Lookup>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = match lookup {
                Some(lookup) => lookup(host.clone()).await?.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|addr| !is_forbidden(addr.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused(format!("{host} resolves only to addresses webhooks may not reach")))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The guard's refusal, found again in a send error's source chain so it is reported as permanent.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Refused {
    /// The guard's refusal behind `err`, if that is why it failed.
    pub fn behind<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
        let mut current = Some(err);
        while let Some(err) = current {
            if let Some(refused) = err.downcast_ref::<Refused>() {
                return Some(refused);
            }
            current = err.source();
        }
        None
    }
}

/// The guarded system resolver, as reqwest wants it.
pub fn resolver() -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver::default())
}

/// The guard over another lookup (tests).
pub fn resolver_with(lookup: Lookup) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { lookup: Some(lookup) })
}

/// Checks a URL before any connection: scheme, and the host when it is an IP literal (which no resolver
/// sees). `url::Url` normalises IPv4 in any notation (`2130706433`, `0x7f.1`) to dotted form first.
pub fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|_| "is not a valid URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".to_owned());
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        // A trailing dot ("localhost.") names the same host.
        Some(url::Host::Domain(domain))
            if domain.trim_end_matches('.').eq_ignore_ascii_case("localhost")
                || domain.trim_end_matches('.').to_ascii_lowercase().ends_with(".localhost") =>
        {
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
        Some(url::Host::Domain(_)) => None,
        None => return Err("must have a host".to_owned()),
    };
    if !allow_private && literal.is_some_and(is_forbidden) {
        return Err("points at a private, loopback or link-local address".to_owned());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_urls_are_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://localhost:8080/",
            "http://LOCALHOST.:8080/",
            "http://[::]/",
            "http://0/",
            "http://api.localhost/",
            "http://224.0.0.1/",
            "http://user:pass@example.com/",
            "ftp://example.com/",
            "file:///etc/passwd",
        ] {
            assert!(check_url(url, false).is_err(), "{url} was accepted");
        }
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:9000/", true).is_ok(), "allowed when the operator says so");
    }
}
