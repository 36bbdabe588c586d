//! The Reply-To address of a notification email: the sender's address with a signed tag that names the
//! delivery, `reminders+<tag>@example.com`, so a reply can act on the right episode (the inbound email
//! handler calls [`ReplyAddresses::verify`]). The tag is lowercase base32 because mail systems may fold the
//! case of a local part, and short enough (42 characters) to keep the local part within 64.

use data_encoding::BASE32_NOPAD;
use lettre::message::Mailbox;
use reminder_core::ids::DeliveryId;
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::config::Config;
use crate::crypto;

const MAC_LEN: usize = 10;

/// Makes and checks reply addresses for one sender address.
#[derive(Clone)]
pub struct ReplyAddresses {
    key: [u8; 32],
    user: String,
    domain: String,
}

impl ReplyAddresses {
    /// For `from` (`EMAIL_FROM`, already validated as a mailbox).
    pub fn new(config: &Config, from: &Mailbox) -> Self {
        ReplyAddresses {
            key: crypto::derive_key(config.encryption_key.expose_secret(), "reply-addresses/v1"),
            user: from.email.user().to_owned(),
            domain: from.email.domain().to_owned(),
        }
    }

    /// The addresses of this server's sender (what the inbound email handler uses to read a reply).
    pub fn for_state(state: &crate::state::AppState) -> Self {
        Self::new(&state.config, state.mailer.from())
    }

    /// The address a reply to the notification of `delivery` goes to.
    pub fn address(&self, delivery: DeliveryId) -> String {
        let mut bytes = delivery.0.as_bytes().to_vec();
        let mac = crypto::hmac_sha256(&self.key, &bytes);
        bytes.extend_from_slice(&mac[..MAC_LEN]);
        format!("{}+{}@{}", self.user, BASE32_NOPAD.encode(&bytes).to_ascii_lowercase(), self.domain)
    }

    /// The delivery a reply address names, when its tag is ours and intact. Any case, any display name
    /// around it (`"Reminders" <reminders+tag@…>`) is accepted; the domain is not checked, since relays
    /// may rewrite it.
    pub fn verify(&self, address: &str) -> Option<DeliveryId> {
        let address = address.trim();
        let address = match (address.rfind('<'), address.rfind('>')) {
            (Some(open), Some(close)) if open < close => &address[open + 1..close],
            _ => address,
        };
        let (local, _domain) = address.rsplit_once('@')?;
        let (_, tag) = local.rsplit_once('+')?;
        let bytes = BASE32_NOPAD.decode(tag.to_ascii_uppercase().as_bytes()).ok()?;
        if bytes.len() != 16 + MAC_LEN {
            return None;
        }
        let (id, mac) = bytes.split_at(16);
        let expected = crypto::hmac_sha256(&self.key, id);
        crypto::constant_time_eq(&expected[..MAC_LEN], mac).then(|| Uuid::from_slice(id).ok().map(DeliveryId)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses() -> ReplyAddresses {
        ReplyAddresses { key: [3u8; 32], user: "reminders".to_owned(), domain: "example.com".to_owned() }
    }

    #[test]
    fn a_reply_address_names_its_delivery() {
        let delivery = DeliveryId(Uuid::new_v4());
        let address = addresses().address(delivery);
        let local = address.split('@').next().unwrap();
        assert!(local.len() <= 64 && local.starts_with("reminders+"), "{address}");
        assert_eq!(addresses().verify(&address), Some(delivery));
        assert_eq!(addresses().verify(&format!("Reminders <{}>", address.to_uppercase())), Some(delivery));
    }

    #[test]
    fn altered_or_foreign_tags_name_nothing() {
        let address = addresses().address(DeliveryId(Uuid::new_v4()));
        let (local, domain) = address.split_once('@').unwrap();
        let mut tag = local.split_once('+').unwrap().1.as_bytes().to_vec();
        tag[3] = if tag[3] == b'a' { b'b' } else { b'a' };
        let altered = format!("reminders+{}@{domain}", String::from_utf8(tag).unwrap());
        assert_eq!(addresses().verify(&altered), None);
        let other = ReplyAddresses { key: [4u8; 32], ..addresses() };
        assert_eq!(other.verify(&address), None);
        assert_eq!(addresses().verify("reminders@example.com"), None);
    }
}
