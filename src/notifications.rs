//! Deliveries: the rows that say who is owed which message, their retry policy and rendered payloads.

pub mod delivery;
pub mod got_it_links;
pub mod lifecycle;
pub mod links;
pub mod outreach;
pub mod reply_address;
pub mod templates;
pub mod unsubscribe;
