//! A trusted contact's "I've got it" link: a sealed delivery id, so the link names the one delivery that reached
//! the contact. The page that acts on it lives with the contacts (`escalation::got_it`); channels only make links.

use reminder_core::ids::DeliveryId;
use secrecy::ExposeSecret;

const PURPOSE: &str = "contact-got-it";

/// Makes "I've got it" links without the whole configuration (channels keep one).
pub struct GotItLinks {
    key: secrecy::SecretBox<[u8; 32]>,
    base: String,
}

impl GotItLinks {
    pub fn new(config: &crate::config::Config) -> Self {
        GotItLinks {
            key: secrecy::SecretBox::new(Box::new(*config.encryption_key.expose_secret())),
            base: config.api_url.as_str().trim_end_matches('/').to_owned(),
        }
    }

    pub fn link(&self, delivery: DeliveryId) -> String {
        let token = crate::crypto::seal_id(self.key.expose_secret(), PURPOSE, delivery.0);
        format!("{}/contacts/got-it/{token}", self.base)
    }

    /// The delivery a token from [`GotItLinks::link`] names, if it is one of ours.
    pub fn open(&self, token: &str) -> Option<DeliveryId> {
        crate::crypto::open_id(self.key.expose_secret(), PURPOSE, token).map(DeliveryId)
    }
}
