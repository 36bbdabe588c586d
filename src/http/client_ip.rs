//! The client's IP address. `X-Forwarded-For` is believed only when the direct peer is a trusted proxy
//! (`TRUSTED_PROXIES`), so a spoofed header cannot change anyone's identity or rate limit.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return Some(peer);
    }
    // Walk the chain from the nearest hop; the first address that is not a trusted proxy is the client.
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut client = peer;
    for hop in forwarded.rsplit(',').map(str::trim) {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !trusted.iter().any(|net| net.contains(&ip)) {
            break;
        }
    }
    Some(client)
}
