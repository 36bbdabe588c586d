//! A fetched RFC 822 message, read with mail-parser into the facts a watcher rule matches
//! ([`MailFacts`], the same shape as inbound email's) and the key its evidence row is unique on.

use mail_parser::MessageParser;

use crate::watchers::addresses;
use crate::watchers::rules::MailFacts;

/// What a poll needs of one message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub facts: MailFacts,
    /// The evidence key: the Message-ID, so the same message delivered twice (a copy, a re-APPEND) acts
    /// once; `uid:<UIDVALIDITY>:<UID>` for a message without one.
    pub key: String,
}

/// Reads `raw` (the message as fetched). The sender counts as vouched for, as inbound email without
/// provider verdicts does: the message is in the user's own mailbox, past their provider's checks, and its
/// own `Authentication-Results` headers are not trusted (the sender can write those).
pub fn read(raw: &[u8], uid_validity: u32, uid: u32) -> Mail {
    let parsed = MessageParser::default().parse(raw);
    let key = parsed
        .as_ref()
        .and_then(|m| m.message_id())
        .filter(|id| !id.trim().is_empty())
        .map(|id| format!("<{}>", id.trim()))
        .unwrap_or_else(|| format!("uid:{uid_validity}:{uid}"));
    let Some(message) = parsed else {
        return Mail { facts: MailFacts { sender_vouched: true, ..MailFacts::default() }, key };
    };
    let sender = message
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .and_then(addresses::bare_address)
        .unwrap_or_default();
    let facts = MailFacts {
        sender,
        sender_vouched: true,
        subject: message.subject().unwrap_or_default().to_owned(),
        body: message.body_text(0).map(|body| body.into_owned()).unwrap_or_default(),
    };
    Mail { facts, key }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sender_subject_body_and_message_id() {
        let raw = b"From: Bank Alerts <Alerts@Bank.example>\r\nTo: ada@example.com\r\n\
            Subject: =?utf-8?q?Payment_received?=\r\nMessage-ID: <abc-1@bank.example>\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\r\nWe received 800 EUR.\r\n";
        let mail = read(raw, 7, 3);
        assert_eq!(mail.facts.sender, "alerts@bank.example");
        assert_eq!(mail.facts.subject, "Payment received");
        assert!(mail.facts.body.contains("800 EUR"));
        assert_eq!(mail.key, "<abc-1@bank.example>");
    }

    #[test]
    fn html_only_mail_is_read_as_text_and_no_message_id_falls_back_to_the_uid() {
        let raw = b"From: a@b.example\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n<p>Paid <b>in full</b></p>\r\n";
        let mail = read(raw, 7, 3);
        assert!(mail.facts.body.contains("Paid") && !mail.facts.body.contains("<b>"), "{}", mail.facts.body);
        assert_eq!(mail.key, "uid:7:3");
    }
}
