//! The client's IP address. `X-Forwarded-For` is believed only when the direct peer is a trusted proxy
//! (`TRUSTED_PROXIES`), so a spoofed header cannot change anyone's identity or rate limit.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    Some(forwarded_client(peer, req.headers(), trusted))
}

/// Walks the chain from the nearest hop; the first address that is not a trusted proxy is the client.
///
/// Every `X-Forwarded-For` line counts, in order, as if joined by commas (RFC 9110 §5.3): a proxy that
/// appends its own line after the client's would otherwise let the client's first line name any address.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let lines: Vec<&str> = headers.get_all("x-forwarded-for").map(|v| v.to_str().unwrap_or("")).collect();
    let mut client = peer;
    for hop in lines.iter().rev().flat_map(|line| line.rsplit(',')).map(str::trim) {
        // An unreadable hop was written by someone untrusted: stop at the last address a proxy vouched for.
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The key a client is counted under by per-address limits: an IPv4 address, or the /64 of an IPv6 one
/// (one subscriber usually holds a whole /64, so counting single addresses would hand out 2^64 budgets).
pub fn network_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = IpNet::new(IpAddr::V6(v6), 64).map(|net| net.trunc());
            network.map_or_else(|_| v6.to_string(), |net| net.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_str(line).unwrap());
        }
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn every_forwarded_line_is_read_from_the_right() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = nets(&["10.0.0.0/8"]);
        // The client's own line comes first; the proxy appended the real address as a second line.
        let spoofed = headers(&["203.0.113.9", "198.51.100.7"]);
        assert_eq!(forwarded_client(proxy, &spoofed, &trusted).to_string(), "198.51.100.7");
        let chained = headers(&["203.0.113.9, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(forwarded_client(proxy, &chained, &trusted).to_string(), "198.51.100.7");
        // An untrusted peer's header is ignored entirely.
        let direct: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(forwarded_client(direct, &spoofed, &trusted), direct);
        // Garbage stops the walk at the last hop a proxy vouched for.
        let garbage = headers(&["nonsense", "10.0.0.3"]);
        assert_eq!(forwarded_client(proxy, &garbage, &trusted).to_string(), "10.0.0.3");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_slash_64() {
        let key = |text: &str| network_key(text.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
