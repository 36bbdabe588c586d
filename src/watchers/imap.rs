//! IMAP mailbox watchers: a watcher rule whose mail is read from the user's own mailbox instead of being
//! forwarded to their watcher address. The API takes the mailbox with the rule (`input`); the credentials
//! are sealed to the row (`store`); the worker role's loop (`poller`) claims due mailboxes, reads new mail
//! (`client`, `cursor`, `message`) and acts through the same rule matching and action path as inbound email.

pub mod client;
pub mod cursor;
pub mod input;
pub mod message;
pub mod poller;
pub mod store;
