//! Which messages of a mailbox are new, by UID (RFC 3501 §2.3.1.1). The first poll records UIDVALIDITY and
//! starts after UIDNEXT − 1, so mail that was there before the watcher acts on nothing; later polls ask for
//! UIDs above the last one seen, a bounded batch at a time. A changed UIDVALIDITY means the server renumbered
//! the folder: the old bookkeeping is meaningless, so the poll starts afresh as on the first one.

/// What the watcher row remembers between polls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    pub uid_validity: Option<u32>,
    /// The highest UID already looked at.
    pub last_uid: Option<u32>,
}

/// What a poll does once the folder is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// First poll, or the folder was renumbered: remember where the mail starts, act on nothing.
    /// `last_uid` is UIDNEXT − 1, or None when the server did not say (the poll then asks for the highest UID).
    Baseline { uid_validity: u32, last_uid: Option<u32> },
    /// Look for UIDs above `last_uid`.
    After { uid_validity: u32, last_uid: u32 },
}

/// The step for a folder the server reports with `uid_validity` and `uid_next`.
pub fn step(stored: Stored, uid_validity: u32, uid_next: Option<u32>) -> Step {
    match stored {
        Stored { uid_validity: Some(known), last_uid: Some(last_uid) } if known == uid_validity => {
            Step::After { uid_validity, last_uid }
        }
        _ => Step::Baseline { uid_validity, last_uid: uid_next.map(|next| next.saturating_sub(1)) },
    }
}

/// The UIDs to fetch this poll: those above `after`, lowest first, at most `max`. A `UID SEARCH n:*` answer
/// includes the highest message even when its UID is below `n` (`*` is the highest UID), so it is filtered.
pub fn batch(found: impl IntoIterator<Item = u32>, after: u32, max: usize) -> Vec<u32> {
    let mut uids: Vec<u32> = found.into_iter().filter(|uid| *uid > after).collect();
    uids.sort_unstable();
    uids.dedup();
    uids.truncate(max);
    uids
}

/// A UID set for `UID FETCH`: `4,7,9`.
pub fn uid_set(uids: &[u32]) -> String {
    uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_poll_starts_after_the_mail_already_there() {
        assert_eq!(step(Stored::default(), 7, Some(42)), Step::Baseline { uid_validity: 7, last_uid: Some(41) });
        assert_eq!(step(Stored::default(), 7, Some(1)), Step::Baseline { uid_validity: 7, last_uid: Some(0) });
        assert_eq!(step(Stored::default(), 7, None), Step::Baseline { uid_validity: 7, last_uid: None });
    }

    #[test]
    fn later_polls_continue_after_the_last_uid() {
        let stored = Stored { uid_validity: Some(7), last_uid: Some(41) };
        assert_eq!(step(stored, 7, Some(50)), Step::After { uid_validity: 7, last_uid: 41 });
    }

    #[test]
    fn a_new_uidvalidity_starts_afresh() {
        let stored = Stored { uid_validity: Some(7), last_uid: Some(41) };
        assert_eq!(step(stored, 8, Some(3)), Step::Baseline { uid_validity: 8, last_uid: Some(2) });
    }

    #[test]
    fn batches_are_new_sorted_and_bounded() {
        assert_eq!(batch([9, 3, 12, 10, 10], 9, 50), [10, 12]);
        assert_eq!(batch([5], 9, 50), Vec::<u32>::new(), "`10:*` answers the highest message, 5");
        assert_eq!(batch(1..=200, 0, 50), (1..=50).collect::<Vec<_>>());
        assert_eq!(uid_set(&[10, 12]), "10,12");
    }
}
