//! Completion evidence: proof from outside the app that a reminder was dealt with. A completion hook is a
//! secret URL a device or job calls; an email watcher is a rule matched against inbound email; a reply to
//! one of our notification emails acts on the episode it came from. All of them act through
//! [`crate::escalation::actions`] and leave a `watcher_events` row.

pub mod addresses;
pub mod email_watchers;
pub mod evidence;
pub mod hook_routes;
pub mod hooks;
pub mod imap;
pub mod inbound;
pub mod occurrence;
pub mod replies;
pub mod routes;
pub mod rules;
pub mod sample;
pub mod twilio;
pub mod verdicts;
