//! SSRF guard for user-supplied URLs: checked when the address is known, at connect time, so a name
//! that resolves to a private address (or changes to one later) is refused just the same.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// True for addresses a webhook must never reach: anything the IANA special-purpose registries mark as not
/// globally reachable (loopback, private, link-local with cloud metadata, CGNAT, multicast, documentation,
/// benchmarking, reserved), and every IPv6 form that embeds or tunnels to an IPv4 address we cannot judge.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    // NAT64's well-known prefix (64:ff9b::/96) reaches the IPv4 address in its last 32 bits: judge that one.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    // Only 2000::/3 is allocated as global unicast; everything else (::/96 IPv4-compatible, ::1, ::,
    // 64:ff9b:1::/48 local-use NAT64, 100::/64 discard, 5f00::/16 SRv6, fc00::/7, fec0::/10, fe80::/10,
    // ff00::/8) is loopback, local, special or unassigned.
    if s[0] & 0xe000 != 0x2000 {
        return true;
    }
    // Special blocks inside 2000::/3: IETF protocol assignments (2001::/23, with Teredo 2001::/32, which
    // tunnels to an IPv4 address a relay picks), documentation (2001:db8::/32, 3fff::/20), and 6to4
    // (2002::/16, which embeds an IPv4 address, private ones included).
    s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8) || s[0] == 0x2002 || s[0] == 0x3fff && s[1] < 0x1000
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // CGNAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (DS-Lite, NAT64 discovery)
        || (a == 192 && b == 88 && c == 99) // deprecated 6to4 relay anycast
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
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

/// The HTTP client for requests to user-supplied URLs (webhooks, push endpoints): no redirects, 10 s
/// timeout, no proxy from the environment (the proxy, not us, would resolve the host: no guard), and the
/// guarded resolver unless `guard` is None (`WEBHOOK_ALLOW_PRIVATE`).
pub fn outbound_client(guard: Option<Arc<GuardedResolver>>) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .connect_timeout(std::time::Duration::from_secs(5))
        .no_proxy()
        .user_agent(concat!("escalating-reminders/", env!("CARGO_PKG_VERSION")));
    if let Some(guard) = guard {
        builder = builder.dns_resolver(guard);
    }
    builder.build()
}

/// [`check_url`] for a URL we POST to on a user's behalf (a push endpoint, an agent's callback): at most
/// 2048 characters, and https unless private addresses are allowed (tests, self-hosted receivers).
pub fn check_https_url(raw: &str, allow_private: bool) -> Result<url::Url, String> {
    if raw.len() > 2048 {
        return Err("must be at most 2048 characters".to_owned());
    }
    let url = check_url(raw.trim(), allow_private)?;
    if url.scheme() != "https" && !allow_private {
        return Err("must be an https URL".to_owned());
    }
    Ok(url)
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
        assert!(check_url("https://[2606:4700::1111]/x", false).is_ok());
        assert!(check_url("https://[64:ff9b::808:808]/x", false).is_ok(), "NAT64 to a public address");
        assert!(check_url("http://127.0.0.1:9000/", true).is_ok(), "allowed when the operator says so");
    }

    #[test]
    fn special_purpose_addresses_are_forbidden() {
        for ip in [
            // IPv4 special-purpose registry (not globally reachable).
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.169.254",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.0.170",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.251",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6, including every form that embeds or tunnels to IPv4.
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:0:7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::c0a8:101",
            "64:ff9b:1::7f00:1",
            "64:ff9b:1::808:808",
            "100::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "2002:7f00:1::",
            "2002:808:808::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "feff::1",
            "ff02::1",
            "ff0e::1",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} is allowed");
        }
        for ip in
            ["8.8.8.8", "1.1.1.1", "100.128.0.1", "192.0.1.1", "2606:4700::1111", "2a00:1450::1", "64:ff9b::808:808"]
        {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} is forbidden");
        }
    }
}
