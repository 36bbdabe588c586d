//! Inbound email addresses, all on one domain that SendGrid Inbound Parse posts to us:
//!
//! - `watch+<token>@<domain>`: a user's own address for email watchers (they forward mail there). Routing
//!   by recipient is what keeps rules tenant-scoped: an email is only matched against the rules of the
//!   user whose address it was sent to, so nobody can trigger another user's watcher by guessing its rule.
//! - the Reply-To of a notification email (`reminders+<tag>@<domain>`, made and verified by
//!   [`ReplyAddresses`]); the tag names the delivery.
//!
//! Watcher tokens are [`crate::crypto::seal_id`] tokens under `ENCRYPTION_KEY`, signed for the user's
//! current address generation ([`generations`]): rotating the address voids the old one at once (it may have
//! leaked into a mailing list or a forwarding rule someone else controls).

pub mod generations;

use reminder_core::ids::{DeliveryId, UserId};
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::notifications::reply_address::ReplyAddresses;

/// What an inbound recipient address stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Recipient {
    /// A user's watcher address.
    Watch(UserId),
    /// A reply to the delivery with this id.
    Reply(DeliveryId),
}

fn seal(config: &Config, purpose: &str, user: UserId) -> String {
    crate::crypto::seal_id(config.encryption_key.expose_secret(), purpose, user.0)
}

fn open(config: &Config, purpose: &str, token: &str) -> Option<UserId> {
    crate::crypto::open_id(config.encryption_key.expose_secret(), purpose, token).map(UserId)
}

/// The domain inbound mail arrives on: the domain of `EMAIL_FROM`.
pub fn domain(config: &Config) -> String {
    let from = config.email_from.trim();
    let address = from.rsplit_once('<').map_or(from, |(_, rest)| rest.trim_end_matches('>'));
    address.rsplit_once('@').map_or_else(|| "localhost".to_owned(), |(_, domain)| domain.trim().to_ascii_lowercase())
}

/// What a watcher token is signed for. Generation 0 keeps the purpose addresses had before rotation
/// existed, so they go on working until their owner rotates.
fn watch_purpose(generation: i32) -> String {
    match generation {
        0 => "watch-address".to_owned(),
        n => format!("watch-address:{n}"),
    }
}

/// The address a user forwards mail to for their email watchers, at the user's current `generation`.
pub fn watch_address(config: &Config, user: UserId, generation: i32) -> String {
    format!("watch+{}@{}", seal(config, &watch_purpose(generation), user), domain(config))
}

/// The user a watcher address claims to be for, unchecked: whose generation to look up before
/// [`classify`].
pub fn claimed_watch_user(address: &str) -> Option<UserId> {
    let address = bare_address(address)?;
    crate::crypto::sealed_id(address.split_once('@')?.0.strip_prefix("watch+")?).map(UserId)
}

/// Reads one recipient (`Name <local@domain>` or a bare address): a watcher address of ours signed for its
/// user's current generation (`generation` of the user it names), or the signed Reply-To address of a
/// notification email (verified by the email channel's [`ReplyAddresses`]). Anything else is not a recipient.
pub fn classify(
    config: &Config,
    replies: &ReplyAddresses,
    generation: impl Fn(UserId) -> i32,
    address: &str,
) -> Option<Recipient> {
    let address = bare_address(address)?;
    let (local, at) = address.rsplit_once('@')?;
    if let Some(token) = local.strip_prefix("watch+") {
        let user = UserId(crate::crypto::sealed_id(token)?);
        return open(config, &watch_purpose(generation(user)), token)
            .filter(|_| at.eq_ignore_ascii_case(&domain(config)))
            .map(Recipient::Watch);
    }
    replies.verify(&address).map(Recipient::Reply)
}

/// `Name <a@b>` → `a@b`, lower-cased; None when there is no `@`.
pub fn bare_address(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let inner = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(start), Some(end)) if start < end => &raw[start + 1..end],
        _ => raw,
    };
    let inner = inner.trim().trim_matches('"');
    inner.contains('@').then(|| inner.to_ascii_lowercase())
}

/// Every address of a comma-separated header value (`to`, `cc`), respecting quoted display names.
pub fn split_addresses(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut current, mut quoted, mut angled) = (String::new(), false, false);
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' => angled = true,
            '>' => angled = false,
            ',' if !quoted && !angled => {
                out.extend(bare_address(&current));
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.extend(bare_address(&current));
    out
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn config() -> Config {
        let env = [
            ("ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
            ("EMAIL_FROM", "Reminders <reminders@Example.org>"),
        ];
        Config::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())).unwrap()
    }

    #[test]
    fn addresses_round_trip_case_insensitively_and_refuse_forgeries() {
        let config = config();
        let replies = ReplyAddresses::new(&config, &config.email_from.parse().unwrap());
        let classify = |address: &str| classify(&config, &replies, |_| 0, address);
        let user = UserId(Uuid::new_v4());
        let address = watch_address(&config, user, 0);
        assert!(address.starts_with("watch+") && address.ends_with("@example.org"), "{address}");
        assert_eq!(classify(&address), Some(Recipient::Watch(user)));
        assert_eq!(classify(&format!("Me <{}>", address.to_uppercase())), Some(Recipient::Watch(user)));
        let delivery = DeliveryId(Uuid::new_v4());
        assert_eq!(classify(&replies.address(delivery)), Some(Recipient::Reply(delivery)));
        // A watcher token as a reply tag, another id with this tag, another domain: refused.
        assert_eq!(classify(&address.replace("watch+", "reminders+")), None);
        let forged = format!("watch+{}{}@example.org", Uuid::new_v4().simple(), &address[6 + 32..6 + 48]);
        assert_eq!(classify(&forged), None);
        assert_eq!(classify(&address.replace("example.org", "evil.test")), None);
        // After a rotation the old address names nobody; the new one names the user.
        let rotated = watch_address(&config, user, 1);
        assert_ne!(rotated, address);
        assert_eq!(super::classify(&config, &replies, |_| 1, &address), None);
        assert_eq!(super::classify(&config, &replies, |_| 1, &rotated), Some(Recipient::Watch(user)));
        assert_eq!(claimed_watch_user(&rotated), Some(user));
    }

    #[test]
    fn header_values_split_into_bare_addresses() {
        assert_eq!(
            split_addresses(r#""Doe, Jane" <Jane@x.org>, bob@y.org,  , Carol <c@z.org>"#),
            vec!["jane@x.org", "bob@y.org", "c@z.org"]
        );
        assert_eq!(bare_address("no address"), None);
    }
}
