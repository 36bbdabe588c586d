//! Scheduler shards (`SCHEDULER_SHARDS`): the reminders are split into parts by a hash of their id
//! (the SQL function `reminder_shard`), and each part has its own leader, advisory lock and fencing epoch.
//! Every engine step of a leader reads only its part: reminders by id, episodes and deliveries by their
//! reminder's id, so one reminder's whole life stays with one shard. Upkeep (retention, gauges, the
//! health snapshot) is service-wide and runs with shard 0.

/// One part of the reminders, `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    index: u16,
    count: u16,
}

/// Advisory-lock key of the single scheduler ("ER-SCHED"); shard keys are derived from it.
const LOCK_KEY: i64 = 0x4552_2d53_4348_4544;

impl Shard {
    /// The only shard when the reminders are not split: the lease row and lock of a single scheduler.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Every shard of a split into `count` parts (at least one).
    pub fn all(count: u16) -> impl Iterator<Item = Shard> {
        let count = count.max(1);
        (0..count).map(move |index| Shard { index, count })
    }

    pub fn index(self) -> u16 {
        self.index
    }

    /// The `scheduler_leases` row holding this shard's epoch.
    pub fn lease_name(self) -> String {
        if self.count == 1 { "scheduler".to_owned() } else { format!("scheduler:{}/{}", self.index, self.count) }
    }

    /// The advisory lock its leader holds. Each split has its own keys, so schedulers configured with
    /// different counts never share a lock (their work stays safe: every step locks the rows it takes).
    pub fn lock_key(self) -> i64 {
        if self.count == 1 { LOCK_KEY } else { LOCK_KEY ^ (i64::from(self.count) << 16 | i64::from(self.index)) }
    }

    /// The SQL condition that keeps a step to this shard, on the column holding the reminder's id: empty
    /// when the reminders are not split.
    pub fn filter(self, reminder_id: &str) -> String {
        if self.count == 1 {
            String::new()
        } else {
            format!(" AND reminder_shard({reminder_id}, {}) = {}", self.count, self.index)
        }
    }

    /// Whether this shard's leader also runs the service-wide upkeep.
    pub fn runs_upkeep(self) -> bool {
        self.index == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_scheduler_keeps_its_lease_row_lock_and_queries() {
        assert_eq!(Shard::all(1).collect::<Vec<_>>(), vec![Shard::WHOLE]);
        assert_eq!(Shard::WHOLE.lease_name(), "scheduler");
        assert_eq!(Shard::WHOLE.lock_key(), LOCK_KEY);
        assert_eq!(Shard::WHOLE.filter("r.id"), "");
    }

    #[test]
    fn every_shard_of_every_split_has_its_own_lock_and_row() {
        let mut keys = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for count in 1..=64 {
            for shard in Shard::all(count) {
                assert!(keys.insert(shard.lock_key()), "{shard:?} shares a lock");
                assert!(names.insert(shard.lease_name()), "{shard:?} shares a lease row");
            }
        }
        let second = Shard::all(2).nth(1).unwrap();
        assert_eq!(second.filter("d.reminder_id"), " AND reminder_shard(d.reminder_id, 2) = 1");
        assert!(!second.runs_upkeep());
    }
}
