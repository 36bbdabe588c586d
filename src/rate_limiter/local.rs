//! The in-process fixed-window counter used while Redis is unset or unreachable.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Expired windows are swept only when the map grows past this, so a normal hit is one map lookup.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Default)]
pub struct LocalWindows {
    windows: Mutex<HashMap<String, (u64, Instant)>>,
}

impl LocalWindows {
    /// Counts a hit; returns the count in the current window and the time left in it.
    pub fn hit(&self, key: &str, window: Duration) -> (u64, Duration) {
        let now = Instant::now();
        // A poisoned lock only means another thread panicked mid-update; the counts are still usable.
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (_, ends)| *ends > now);
        }
        let entry = windows.entry(key.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        (entry.0, entry.1 - now)
    }

    pub fn forget(&self, key: &str) {
        self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_restarts_after_it() {
        let windows = LocalWindows::default();
        assert_eq!(windows.hit("k", Duration::from_millis(30)).0, 1);
        assert_eq!(windows.hit("k", Duration::from_millis(30)).0, 2);
        assert_eq!(windows.hit("other", Duration::from_millis(30)).0, 1);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(windows.hit("k", Duration::from_millis(30)).0, 1);
        windows.forget("k");
        assert_eq!(windows.hit("k", Duration::from_millis(30)).0, 1);
    }
}
